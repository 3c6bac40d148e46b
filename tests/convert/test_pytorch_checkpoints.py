"""`pytorch_model.bin` checkpoints (single and sharded) load without
PyTorch into the same weights as their safetensors twins; pickles that ask
for anything but tensors are refused before anything runs; legacy files
get an error that names the fix."""

import collections
import os
import shutil
import zipfile

import numpy as np
import pytest
import torch
from huggingface_hub import save_torch_state_dict

import tfzoo
from tests.convert.hf_reference import (
    assert_close_at,
    padded_batch,
    save_random_model,
    torch_outputs,
)
from tfzoo.convert import (
    LegacyFormatError,
    PytorchCheckpoint,
    UnsafeCheckpointError,
)


def bin_twins(reference, source, tmp_path):
    """Directories `single` and `sharded` with `source`'s config.json and
    the reference's state dict as pytorch_model.bin, written the way
    transformers 4 wrote `save_pretrained(..., safe_serialization=False)`
    (huggingface_hub's shard split, `torch.save` per shard; transformers 5
    no longer writes .bin files)."""
    state_dict = reference.state_dict()
    directories = {}
    for kind, shard_size in (("single", "10GB"), ("sharded", "20KB")):
        directory = tmp_path / kind
        directory.mkdir()
        shutil.copy(source / "config.json", directory)
        save_torch_state_dict(state_dict, directory,
                              safe_serialization=False,
                              max_shard_size=shard_size)
        directories[kind] = directory
    assert sorted(os.listdir(directories["single"])) == [
        "config.json", "pytorch_model.bin"]
    shards = [f for f in os.listdir(directories["sharded"])
              if f.startswith("pytorch_model-")]
    assert len(shards) > 3
    assert (directories["sharded"] / "pytorch_model.bin.index.json").exists()
    return directories


def assert_same_weights(model, other):
    weights, others = model.get_weights(), other.get_weights()
    assert len(weights) == len(others)
    for weight, twin in zip(weights, others):
        np.testing.assert_array_equal(weight, twin)


@pytest.mark.parametrize("architecture", [
    "BertForSequenceClassification", "GPT2LMHeadModel",
])
def test_bin_checkpoints_load_like_safetensors(architecture, tmp_path):
    source = tmp_path / "safetensors"
    reference = save_random_model(architecture, source, num_labels=3)
    twins = bin_twins(reference, source, tmp_path)
    expected = tfzoo.from_pretrained(source, progress=False)
    is_gpt = architecture.startswith("GPT2")
    batch = padded_batch(seed=2, num_segments=1 if is_gpt else 2)
    if is_gpt:
        del batch["segment_ids"]
    for kind, directory in twins.items():
        model = tfzoo.from_pretrained(directory, progress=False)
        assert type(model) is type(expected)
        report = model.conversion_report
        assert report.checkpoint.endswith(
            "pytorch_model.bin" if kind == "single"
            else "pytorch_model.bin.index.json")
        # The .bin keeps GPT-2's tied lm_head.weight (safetensors drops
        # it); it is checked equal to the token embedding.
        assert report.loaded_tensors == (
            expected.conversion_report.loaded_tensors + is_gpt)
        assert report.unexpected_tensors == report.fresh_groups == []
        assert_same_weights(model, expected)
        assert_close_at(model(batch), torch_outputs(reference, batch).logits,
                        batch["padding_mask"] if is_gpt else None)

    # With both formats in one directory, safetensors is read.
    shutil.copy(twins["single"] / "pytorch_model.bin", source)
    both = tfzoo.from_pretrained(source, progress=False)
    assert both.conversion_report.checkpoint.endswith("model.safetensors")


def test_storages_are_memory_mapped_views_with_strides(tmp_path):
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    state = collections.OrderedDict(
        base=base, transposed=base.t(), row=base[1],
        half=torch.tensor([1.5, -2.0], dtype=torch.float16),
        bf16=torch.tensor([1.0, -3.5, 1e20], dtype=torch.bfloat16),
        ids=torch.arange(5), empty=torch.zeros(0, 3),
        parameter=torch.nn.Parameter(torch.ones(2, 2)),
    )
    state["step"] = 7  # a non-tensor entry is skipped
    torch.save(state, tmp_path / "weights.bin")
    with PytorchCheckpoint(tmp_path / "weights.bin") as checkpoint:
        assert sorted(checkpoint.keys()) == sorted(
            k for k in state if k != "step")
        for name in checkpoint.keys():
            expected = state[name].detach().float() if (
                state[name].dtype == torch.bfloat16) else state[name].detach()
            array = checkpoint.get(name)
            assert checkpoint.shape(name) == tuple(expected.shape)
            assert array.dtype == expected.numpy().dtype
            np.testing.assert_array_equal(array, expected.numpy())
        view = checkpoint.get("transposed")
        assert not view.flags.owndata and not view.flags.writeable
        # One storage, mapped once: both views share its bytes.
        assert np.shares_memory(view, checkpoint.get("base"))


class RunsCode:
    """Pickles as a call of os.system: what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("place", ["value", "metadata"])
def test_a_pickle_that_runs_code_is_refused_and_nothing_runs(place,
                                                             tmp_path):
    marker = tmp_path / "ran"
    directory = tmp_path / "checkpoint"
    save_random_model("BertModel", directory)
    os.remove(directory / "model.safetensors")
    state = collections.OrderedDict(
        [("embeddings.word_embeddings.weight", torch.ones(2))])
    if place == "value":
        state["pooler.dense.bias"] = RunsCode(marker)
    else:
        # Hidden in the state dict's metadata, set after the tensors.
        state._metadata = {"": {"version": RunsCode(marker)}}
    torch.save(state, directory / "pytorch_model.bin")
    with zipfile.ZipFile(directory / "pytorch_model.bin") as archive:
        pickled = archive.read("pytorch_model/data.pkl")
    assert b"system" in pickled

    with pytest.raises(UnsafeCheckpointError,
                       match=r"may be unsafe.*(posix|os)\.system.*"
                             r"Nothing was run"):
        PytorchCheckpoint(directory / "pytorch_model.bin")
    with pytest.raises(UnsafeCheckpointError, match="may be unsafe"):
        tfzoo.from_pretrained(directory, progress=False)
    assert not marker.exists()
    # The file is real: PyTorch's full unpickler runs the command.
    torch.load(directory / "pytorch_model.bin", weights_only=False)
    assert marker.exists()


def test_a_pickle_cannot_change_the_reader(tmp_path):
    # BUILD on an allowed name (here: give torch.FloatStorage another
    # dtype) would change how later files are read; it is refused.
    pickled = (b"\x80\x02ctorch\nFloatStorage\n}X\x04\x00\x00\x00code"
               b"X\x02\x00\x00\x00i8sb.")
    path = tmp_path / "pytorch_model.bin"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickled)
    with pytest.raises(UnsafeCheckpointError, match="set attributes"):
        PytorchCheckpoint(path)
    from tfzoo.convert.pytorch_io import ALLOWED_GLOBALS
    assert ALLOWED_GLOBALS[("torch", "FloatStorage")].code == "f4"


def test_legacy_non_zip_files_name_the_fix(tmp_path):
    directory = tmp_path / "checkpoint"
    save_random_model("BertModel", directory)
    os.remove(directory / "model.safetensors")
    torch.save({"w": torch.ones(2)}, directory / "pytorch_model.bin",
               _use_new_zipfile_serialization=False)
    with pytest.raises(LegacyFormatError,
                       match=r"legacy \(before 1.6\).*torch\.save\(torch\."
                             r"load\(path, weights_only=True\), path\)"):
        tfzoo.from_pretrained(directory, progress=False)


def test_the_reader_never_imports_torch():
    import ast

    from tfzoo.convert import pytorch_io
    with open(pytorch_io.__file__, encoding="utf-8") as file:
        tree = ast.parse(file.read())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in (node.names if isinstance(node, ast.Import)
                              else [ast.alias(node.module or "")])}
    assert "torch" not in imported
