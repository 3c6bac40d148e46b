import numpy as np
import pytest
import tensorflow as tf

from tests import synthetic_tasks as tasks
from tests.harness import run_model_test, run_task_test
from tfzoo.models import BertBackbone, BertClassifier
from tfzoo.preprocessing import BertClassifierPreprocessor
from tfzoo.tokenizers import WordPieceTokenizer

LEARNING_RATE = 2e-3


def train(model, x, y, epochs):
    model.compile(learning_rate=LEARNING_RATE)
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)
    return model


def test_shared_checks():
    x, _ = tasks.marker_presence(4)
    run_model_test(
        lambda: BertClassifier(BertBackbone(**tasks.TINY_BERT), num_classes=3),
        x,
    )


def test_learns_a_task_that_needs_the_whole_sentence():
    x, y = tasks.marker_presence(2048)
    model = train(BertClassifier(BertBackbone(**tasks.TINY_BERT)), x, y, 5)
    test_x, test_y = tasks.marker_presence(512, seed=1)
    accuracy = model.evaluate(test_x, test_y, verbose=0, return_dict=True)
    assert accuracy["accuracy"] > 0.95  # chance is 0.5


def test_learns_a_sentence_pair_task():
    x, y = tasks.marker_segment(2048)
    model = train(BertClassifier(BertBackbone(**tasks.TINY_BERT)), x, y, 5)
    test_x, test_y = tasks.marker_segment(512, seed=1)
    accuracy = model.evaluate(test_x, test_y, verbose=0, return_dict=True)
    assert accuracy["accuracy"] > 0.95  # chance is 0.5


def test_regression_with_one_class():
    x, y = tasks.marker_fraction(2048)
    model = BertClassifier(BertBackbone(**tasks.TINY_BERT), num_classes=1)
    assert model.is_regression
    train(model, x, y, 5)
    test_x, test_y = tasks.marker_fraction(512, seed=1)
    predicted = model.predict(test_x, verbose=0)[:, 0]
    mse = np.mean((predicted - test_y) ** 2)
    assert mse < 0.1 * np.var(test_y)  # predicting the mean scores 1.0


def test_trains_under_mixed_bfloat16():
    x, y = tasks.marker_presence(1024)
    backbone = BertBackbone(**tasks.TINY_BERT, dtype="mixed_bfloat16")
    model = BertClassifier(backbone)
    assert model.output.dtype == "float32"
    train(model, x, y, 6)
    test_x, test_y = tasks.marker_presence(512, seed=1)
    accuracy = model.evaluate(test_x, test_y, verbose=0, return_dict=True)
    assert accuracy["accuracy"] > 0.9


def test_default_compile_is_xla_adamw_with_warmup_and_decay():
    x, y = tasks.marker_presence(640)
    model = BertClassifier(BertBackbone(**tasks.TINY_BERT))
    model.compile()
    assert model.jit_compile is True
    model.fit(x, y, batch_size=64, epochs=2, verbose=0)
    schedule = model.optimizer._learning_rate
    assert (schedule.total_steps, schedule.warmup_steps) == (20, 2)
    rates = [float(schedule(step)) for step in (0, 2, 11, 20)]
    peak = BertClassifier.default_learning_rate
    np.testing.assert_allclose(rates, [peak / 2, peak, peak / 2, 0.0],
                               rtol=1e-5, atol=1e-12)
    assert not model.optimizer._use_weight_decay(
        model.backbone.pooler.bias
    )
    assert model.optimizer._use_weight_decay(model.backbone.pooler.kernel)


def test_saved_model_keeps_training_state(tmp_path):
    x, y = tasks.marker_presence(256)
    model = train(BertClassifier(BertBackbone(**tasks.TINY_BERT)), x, y, 1)
    path = str(tmp_path / "classifier.keras")
    model.save(path)
    import keras

    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(
        model.evaluate(x, y, verbose=0), abs=1e-5
    )
    loaded.fit(x, y, batch_size=64, epochs=1, verbose=0)


@pytest.mark.parametrize("num_classes", [0, -2, 2.5])
def test_num_classes_must_be_positive_integer(num_classes):
    with pytest.raises(ValueError, match="num_classes must be an integer"):
        BertClassifier(BertBackbone(**tasks.TINY_BERT), num_classes=num_classes)


def test_token_ids_checked_before_training():
    model = BertClassifier(BertBackbone(**tasks.TINY_BERT))
    model.compile()
    x, y = tasks.marker_presence(64)
    x["token_ids"][3, 5] = 1000
    with pytest.raises(ValueError, match="token id 1000"):
        model.fit(x, y, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    with pytest.raises(tf.errors.InvalidArgumentError, match="vocabulary_size"):
        model.fit(dataset, verbose=0)


def test_wrong_keys_in_a_dataset_fail_before_training():
    model = BertClassifier(BertBackbone(**tasks.TINY_BERT))
    model.compile()
    x, y = tasks.marker_presence(64)
    x["attention_mask"] = x.pop("padding_mask")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    with pytest.raises(ValueError, match=r"missing \['padding_mask'\]"):
        model.fit(dataset, verbose=0)


def test_task_checks_on_raw_text():
    texts = ["the ferry left late", "a calm and sunny pier",
             "late again, the ferry", "sunny and calm"]
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the",
                  "ferry", "left", "late", "a", "calm", "and", "sunny",
                  "pier", "again", ","]
    model = BertClassifier(
        BertBackbone(**dict(tasks.TINY_BERT,
                            vocabulary_size=len(vocabulary))),
        num_classes=2,
        preprocessor=BertClassifierPreprocessor(
            WordPieceTokenizer(vocabulary), sequence_length=8,
            label_names=["late", "calm"]),
    )
    run_task_test(model, texts, ["late", "calm", "late", "calm"])
