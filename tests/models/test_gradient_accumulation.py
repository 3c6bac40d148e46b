"""`Task.compile(gradient_accumulation_steps=N)`: any batch splits, the
update equals the whole batch's, and raw text trains."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import synthetic_tasks as tasks
from tfzoo.models import (
    BertBackbone,
    BertClassifier,
    BertQuestionAnswerer,
    BertTokenClassifier,
)
from tfzoo.preprocessing import BertClassifierPreprocessor
from tfzoo.tokenizers import WordPieceTokenizer, train_word_piece_vocabulary

CONFIG = dict(tasks.TINY_BERT, dropout=0.0)


def build(task, accumulate):
    keras.utils.set_random_seed(11)
    backbone = BertBackbone(**CONFIG)
    if task == "classifier":
        model = BertClassifier(backbone, dropout=0.0)
    elif task == "tagger":
        model = BertTokenClassifier(backbone, num_classes=3, dropout=0.0)
    else:
        model = BertQuestionAnswerer(backbone)
    model.compile(optimizer=keras.optimizers.SGD(0.5),
                  gradient_accumulation_steps=accumulate)
    return model


def data(task, count):
    if task == "classifier":
        return tasks.marker_presence(count)
    if task == "tagger":
        return tasks.previous_token_class(count)
    return tasks.span_after_marker(count)


@pytest.mark.parametrize("task, batch, jit_compile", [
    ("classifier", 6, "per_replica"),
    ("classifier", 3, False),
    ("qa", 6, False),
])
def test_accumulated_update_equals_the_whole_batch_update(task, batch,
                                                          jit_compile):
    """One step on a batch of 6 (micro-batches of 2, 2, 2 and an empty
    one) or 3 (1, 1, 1, empty) gives the weights
    of one step on the whole batch: for a per-row Keras loss and for a
    task's own loss, with and without XLA."""
    x, y = data(task, batch)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)
    initial = [v.numpy() for v in build(task, 1).trainable_variables]
    weights = {}
    for accumulate in (1, 4):
        model = build(task, accumulate)
        model.compile(optimizer=keras.optimizers.SGD(0.5),
                      gradient_accumulation_steps=accumulate,
                      jit_compile=jit_compile)
        model.fit(dataset, epochs=1, verbose=0)
        weights[accumulate] = [v.numpy() for v in model.trainable_variables]
    for whole, accumulated in zip(weights[1], weights[4]):
        np.testing.assert_allclose(accumulated, whole, rtol=0, atol=2e-6)
    moved = [not np.allclose(a, b) for a, b in zip(weights[1], initial)]
    assert sum(moved) > len(moved) // 2  # the step did train


def test_token_losses_train_with_a_partial_batch():
    """A per-token loss with ignored labels: each micro-batch's token mean
    counts by its share of rows, and partial and empty micro-batches give
    finite losses."""
    x, y = data("tagger", 13)  # batches of 10 and 3
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
    model = build("tagger", 4)
    model.compile(gradient_accumulation_steps=4, jit_compile=False)
    before = [v.numpy() for v in model.trainable_variables]
    history = model.fit(dataset, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    after = model.trainable_variables
    assert all(np.all(np.isfinite(v.numpy())) for v in after)
    assert not np.allclose(before[0], after[0].numpy())


def test_raw_text_trains_with_accumulation_and_a_partial_last_batch():
    """The README's training-options block: raw strings have no static
    batch size; 38 texts in batches of 32 leave a last batch of 6."""
    rng = np.random.default_rng(0)
    words = ["good", "bad", "fine", "awful", "the", "film", "was", "very"]
    texts = [" ".join(rng.choice(words, 5)) for _ in range(38)]
    labels = ["positive" if "good" in t or "fine" in t else "negative"
              for t in texts]
    tokenizer = WordPieceTokenizer(
        train_word_piece_vocabulary(texts, 60, min_count=1))
    preprocessor = BertClassifierPreprocessor(
        tokenizer, sequence_length=8, label_names=["negative", "positive"])
    model = BertClassifier(
        BertBackbone(**dict(CONFIG, vocabulary_size=tokenizer.vocabulary_size,
                            max_sequence_length=8)),
        dropout=0.0, preprocessor=preprocessor)
    model.compile(learning_rate=1e-3, gradient_accumulation_steps=4)
    history = model.fit(texts, labels, batch_size=32, epochs=1, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert int(model.optimizer.iterations) == 2  # 32 + 6: nothing dropped


def test_an_explicit_batch_size_that_does_not_split_names_it():
    x, y = tasks.marker_presence(16)
    model = build("classifier", 4)
    with pytest.raises(ValueError, match=(
            r"global batch size 18 does not divide evenly over 1 replicas "
            r"and 4 accumulation micro-batches; use a multiple of 4, e.g. "
            r"20")):
        model.fit(x, y, batch_size=18, verbose=0)
