import numpy as np
import pytest
import tensorflow as tf

from tests import synthetic_tasks as tasks
from tests.harness import run_model_test, run_task_test
from tfzoo.models import BertBackbone, BertTokenClassifier
from tfzoo.preprocessing import BertTokenClassifierPreprocessor
from tfzoo.tokenizers import WordPieceTokenizer


def test_shared_checks():
    x, _ = tasks.previous_token_class(4)
    output = run_model_test(
        lambda: BertTokenClassifier(
            BertBackbone(**tasks.TINY_BERT), num_classes=3
        ),
        x,
    )
    assert output.shape == (4, 16, 3)


def test_learns_a_task_that_needs_the_previous_token():
    x, y = tasks.previous_token_class(2048)
    model = BertTokenClassifier(BertBackbone(**tasks.TINY_BERT), num_classes=3)
    model.compile(learning_rate=2e-3)
    model.fit(x, y, batch_size=64, epochs=6, verbose=0)
    test_x, test_y = tasks.previous_token_class(512, seed=1)
    result = model.evaluate(test_x, test_y, verbose=0, return_dict=True)
    assert result["accuracy"] > 0.9  # chance is 1/3


def test_ignored_labels_count_in_neither_loss_nor_accuracy():
    x, y = tasks.previous_token_class(64)
    model = BertTokenClassifier(BertBackbone(**tasks.TINY_BERT), num_classes=3)
    model.compile()
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    # Wrong labels at ignored positions would change both if they counted.
    logits = model.predict(x, verbose=0)
    keep = y != -100
    predictions = logits.argmax(-1)
    expected_accuracy = np.mean(predictions[keep] == y[keep])
    assert before["accuracy"] == pytest.approx(expected_accuracy, abs=1e-6)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_probs, np.maximum(y, 0)[..., None], -1)
    expected_loss = -picked[..., 0][keep].mean()
    assert before["loss"] == pytest.approx(expected_loss, rel=1e-4)


def test_needs_at_least_two_classes():
    with pytest.raises(ValueError, match="num_classes"):
        BertTokenClassifier(BertBackbone(**tasks.TINY_BERT), num_classes=1)


def test_task_checks_on_raw_words():
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "mira",
                  "sailed", "to", "tromsø", "jon", "walked", "bergen"]
    words = tf.ragged.constant([["Mira", "sailed", "to", "Tromsø"],
                                ["Jon", "walked"], ["Bergen"],
                                ["Jon", "sailed", "to", "Bergen"]])
    labels = tf.ragged.constant([["B-PER", "O", "O", "B-LOC"],
                                 ["B-PER", "O"], ["B-LOC"],
                                 ["B-PER", "O", "O", "B-LOC"]])
    model = BertTokenClassifier(
        BertBackbone(**dict(tasks.TINY_BERT,
                            vocabulary_size=len(vocabulary))),
        num_classes=3,
        preprocessor=BertTokenClassifierPreprocessor(
            WordPieceTokenizer(vocabulary), sequence_length=8,
            label_names=["O", "B-PER", "B-LOC"]),
    )
    run_task_test(model, words, labels)
