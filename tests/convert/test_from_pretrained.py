"""Conversion memory, progress and dtype: a checkpoint is copied in one
tensor at a time, with a progress bar, into float32 or mixed-precision
models."""

import json
import os
import subprocess
import sys

import keras
import numpy as np

from tests.convert.hf_reference import (
    assert_close_at,
    padded_batch,
    save_random_model,
    torch_outputs,
)
from tfzoo.models import BertBackbone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_conversion_never_holds_the_checkpoint_in_memory(tmp_path):
    """Peak Python + NumPy allocations during conversion, measured in a
    process that does nothing else (see conversion_memory_script.py)."""
    save_random_model("BertModel", tmp_path, hidden_size=256,
                      intermediate_size=1024, num_hidden_layers=4,
                      num_attention_heads=4)
    size = os.path.getsize(tmp_path / "model.safetensors")
    largest = 1024 * 256 * 4  # an intermediate kernel, in bytes
    script = os.path.join(os.path.dirname(__file__),
                          "conversion_memory_script.py")
    result = subprocess.run(
        [sys.executable, script, str(tmp_path)], capture_output=True,
        text=True, timeout=300, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"checkpoint {size / 1e6:.1f} MB, peak host allocations during "
          f"conversion {measured['peak'] / 1e6:.2f} MB")
    # A few tensors' worth at most, far from a second copy of the weights.
    assert 4 * largest < size / 3
    assert measured["peak"] < 4 * largest, measured


def test_progress_bar(tmp_path, capfd):
    save_random_model("BertModel", tmp_path)
    BertBackbone.from_pretrained(tmp_path)
    error = capfd.readouterr().err
    assert "Loading BertModel" in error and "tensor" in error
    BertBackbone.from_pretrained(tmp_path, progress=False)
    assert "Loading" not in capfd.readouterr().err


def test_mixed_precision_load(tmp_path):
    reference = save_random_model("BertModel", tmp_path)
    backbone = BertBackbone.from_pretrained(
        tmp_path, dtype="mixed_bfloat16", progress=False)
    assert backbone.transformer_layers[0].dtype_policy.name == "mixed_bfloat16"
    assert backbone(padded_batch())["sequence_output"].dtype == "bfloat16"
    assert all(v.dtype == "float32" for v in backbone.weights)
    batch = padded_batch()
    hidden = keras.ops.convert_to_numpy(
        backbone(batch)["sequence_output"]).astype("float32")
    expected = torch_outputs(reference, batch).last_hidden_state.numpy()
    # bfloat16 keeps 8 bits of mantissa.
    assert_close_at(hidden, expected, batch["padding_mask"], atol=0.15)
    assert np.mean(np.abs(hidden - expected)) < 0.02


def test_converted_model_saves_as_keras_file(tmp_path):
    save_random_model("RobertaForSequenceClassification", tmp_path / "in")
    from tfzoo.models import BertClassifier

    model = BertClassifier.from_pretrained(tmp_path / "in", progress=False)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.backbone.position_offset == 2
    batch = padded_batch(num_segments=1, pad_id=1, start_id=0)
    np.testing.assert_allclose(loaded.predict(batch, verbose=0),
                               model.predict(batch, verbose=0), atol=1e-6)
