"""Files saved by main before the layer redesign still load and predict.

`fixtures/saved_by_main` was written by `fixtures/make_saved_by_main.py`
on main at commit f79f041: `.keras` files of the BERT and GPT families
(with their tokenizers) and a StepCheckpoint directory, with the outputs
they gave then.
"""

import json
import os
import shutil

import keras
import numpy as np
import pytest

from tfzoo.training import StepCheckpoint

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "saved_by_main")


@pytest.fixture(scope="module")
def saved():
    expected = np.load(os.path.join(FIXTURES, "expected.npz"))
    with open(os.path.join(FIXTURES, "inputs.json")) as file:
        inputs = json.load(file)
    return expected, inputs


def load(name):
    return keras.saving.load_model(os.path.join(FIXTURES, f"{name}.keras"))


def test_bert_classifier_with_its_preprocessor(saved):
    expected, inputs = saved
    model = load("bert_classifier")
    np.testing.assert_allclose(model.predict(inputs["texts"], verbose=0),
                               expected["bert_classifier"], atol=1e-5)


def test_bert_masked_lm_in_the_roberta_layout(saved):
    expected, inputs = saved
    token_ids = np.array(inputs["token_ids"], "int32")
    batch = {"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids),
             "padding_mask": (token_ids != 0).astype("int32"),
             "mask_positions": np.array([[1, 3], [0, 5]], "int32")}
    np.testing.assert_allclose(load("bert_masked_lm").predict(batch, verbose=0),
                               expected["bert_masked_lm"], atol=1e-5)


@pytest.mark.parametrize("name", ["gpt2", "gpt_modern"])
def test_gpt_causal_lm_logits_and_generation(saved, name):
    expected, inputs = saved
    token_ids = np.array(inputs["token_ids"], "int32")
    model = load(f"{name}_causal_lm")
    logits = model.predict({"token_ids": token_ids,
                            "padding_mask": np.ones_like(token_ids)},
                           verbose=0)
    np.testing.assert_allclose(logits, expected[f"{name}_causal_lm"],
                               atol=1e-5)
    generated = model.generate(["The lighthouse", "Rain"], max_new_tokens=6)
    assert generated == list(expected[f"{name}_generated"])


def test_step_checkpoint_resumes(saved, tmp_path):
    """The checkpoint was written after the last step of the only epoch:
    fit restores it, trains nothing more, and predicts as the trained
    model did."""
    expected, inputs = saved
    directory = tmp_path / "checkpoint"
    shutil.copytree(os.path.join(FIXTURES, "checkpoint"), directory)
    model = load("bert_classifier")
    # Another optimizer first, as in a process that made some before:
    # Keras numbers optimizer names (adam_w_1/...), the checkpoint's are
    # unnumbered.
    keras.optimizers.AdamW()
    model.compile(learning_rate=1e-3)
    model.fit(inputs["texts"], [0, 1, 2, 0], batch_size=2, epochs=1,
              verbose=0, callbacks=[StepCheckpoint(directory)])
    assert int(model.optimizer.iterations) == 2
    np.testing.assert_allclose(model.predict(inputs["texts"], verbose=0),
                               expected["checkpoint_classifier"], atol=1e-5)
    trained = load("bert_classifier_trained")
    np.testing.assert_allclose(trained.predict(inputs["texts"], verbose=0),
                               expected["checkpoint_classifier"], atol=1e-5)
