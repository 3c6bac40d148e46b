"""Bad checkpoints fail with errors that name the file or tensor and the
fix; hub ids fail fast offline."""

import json
import os
import shutil
import time

import numpy as np
import pytest
import safetensors.numpy

import tfzoo
from tests.convert.hf_reference import save_random_model
from tfzoo.convert import (
    CheckpointError,
    HubUnavailableError,
    ShapeMismatchError,
    UnexpectedTensorsError,
    UnsupportedModelError,
    write_checkpoint,
)
from tfzoo.models import BertBackbone, BertClassifier


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bert")
    save_random_model("BertModel", directory)
    return directory


def copy_of(checkpoint, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(checkpoint, target)
    return target


def edit_config(directory, **changes):
    path = directory / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def test_missing_directory_and_files(tmp_path, checkpoint):
    with pytest.raises(FileNotFoundError, match="not found"):
        BertBackbone.from_pretrained(tmp_path / "nowhere" / "model")
    with pytest.raises(FileNotFoundError, match="No config.json in"):
        BertBackbone.from_pretrained(tmp_path)
    directory = copy_of(checkpoint, tmp_path)
    os.remove(directory / "model.safetensors")
    (directory / "tf_model.h5").write_bytes(b"")
    with pytest.raises(FileNotFoundError,
                       match=r"No model.safetensors .*pytorch_model.bin .*"
                             r"convert other weights"):
        BertBackbone.from_pretrained(directory)
    (directory / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(CheckpointError,
                       match=r"pytorch_model.bin is not a PyTorch "
                             r"checkpoint \(not a zip archive; 0 bytes\)"):
        BertBackbone.from_pretrained(directory)


def test_unsupported_model_type(tmp_path, checkpoint):
    directory = copy_of(checkpoint, tmp_path)
    edit_config(directory, model_type="xlnet")
    with pytest.raises(UnsupportedModelError,
                       match=r"model_type 'xlnet' .* not supported.*'bert'"):
        tfzoo.from_pretrained(directory)
    edit_config(directory, model_type="bert", hidden_act="relu")
    with pytest.raises(UnsupportedModelError, match="hidden_act='relu'"):
        BertBackbone.from_pretrained(directory)


def test_shape_mismatch_names_the_tensor(tmp_path, checkpoint):
    directory = copy_of(checkpoint, tmp_path)
    edit_config(directory, intermediate_size=40)
    with pytest.raises(
        ShapeMismatchError,
        match=r"Tensor 'encoder.layer.0.intermediate.dense.weight' in .*"
        r"model.safetensors has shape \[37, 32\], .* needs \[40, 32\]",
    ):
        BertBackbone.from_pretrained(directory, progress=False)


def test_head_of_another_size_names_the_tensor(tmp_path):
    save_random_model("BertForSequenceClassification", tmp_path, num_labels=3)
    with pytest.raises(ShapeMismatchError,
                       match=r"'classifier.weight' .* num_classes"):
        BertClassifier.from_pretrained(tmp_path, num_classes=2,
                                       progress=False)


def test_unexpected_tensors_are_listed(tmp_path, checkpoint, caplog):
    directory = copy_of(checkpoint, tmp_path)
    tensors = safetensors.numpy.load_file(directory / "model.safetensors")
    tensors["encoder.layer.0.adapter.weight"] = np.ones((4, 4), "float32")
    tensors["mystery"] = np.zeros(3, "float32")
    write_checkpoint(directory, tensors)
    with pytest.raises(
        UnexpectedTensorsError,
        match=r"2 tensors .*: encoder.layer.0.adapter.weight, mystery\. "
        r"Pass strict=False",
    ):
        BertBackbone.from_pretrained(directory, progress=False)
    backbone = BertBackbone.from_pretrained(directory, strict=False,
                                            progress=False)
    assert backbone.conversion_report.unexpected_tensors == [
        "encoder.layer.0.adapter.weight", "mystery"]
    assert "mystery" in caplog.text


def test_missing_tensor_and_missing_shard(tmp_path, checkpoint):
    directory = copy_of(checkpoint, tmp_path)
    tensors = safetensors.numpy.load_file(directory / "model.safetensors")
    del tensors["encoder.layer.1.output.dense.bias"]
    write_checkpoint(directory, tensors)
    with pytest.raises(CheckpointError,
                       match="only part of the encoder: it lacks "
                       r"encoder.layer.1.output.dense.bias\."):
        BertBackbone.from_pretrained(directory, progress=False)
    write_checkpoint(directory, tensors, max_shard_size=20_000)
    shards = sorted(f for f in os.listdir(directory) if f.startswith("model-"))
    assert len(shards) > 2 and "model.safetensors" not in os.listdir(directory)
    os.remove(directory / shards[1])
    with pytest.raises(FileNotFoundError,
                       match=f"Shard .*{shards[1]} listed .* holds"):
        BertBackbone.from_pretrained(directory, progress=False)


def test_corrupt_file(tmp_path, checkpoint):
    directory = copy_of(checkpoint, tmp_path)
    path = directory / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        BertBackbone.from_pretrained(directory, progress=False)
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(CheckpointError, match="corrupt safetensors header"):
        BertBackbone.from_pretrained(directory, progress=False)


def test_hub_id_fails_fast_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(HubUnavailableError,
                       match="pass its local directory"):
        tfzoo.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    assert time.monotonic() - start < 2


def test_wrong_family(tmp_path):
    save_random_model("DistilBertModel", tmp_path)
    # DistilBERT loads into BertBackbone (options cover it) ...
    BertBackbone.from_pretrained(tmp_path, progress=False)
    # ... but not into an unrelated class.
    class Other(tfzoo.models.Backbone):
        pass

    with pytest.raises(ValueError, match="load it with BertBackbone"):
        Other.from_pretrained(tmp_path)
