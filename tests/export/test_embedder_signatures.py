"""TextEmbedder exports: embeddings of raw text, and `search` over a corpus
stored in the SavedModel, equal to in-process results in a process that
imports no tfzoo."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tests.export.servables import serve, signature_defs
from tests.models.test_text_embedder import embedder as tiny_embedder
from tfzoo.export import export_saved_model, read_warmup_file
from tfzoo.export.embedder_signatures import corpus_index
from tfzoo.models.text_embedder import unit_vectors

CORPUS = ["red green blue", "gold grey", "pink teal jade", "navy amber",
          "crimson lime", "rose cyan mint", "red", "ash"]
IDS = [f"doc-{n}" for n in range(len(CORPUS))]
QUERIES = ["red blue", "mint rose", "grey"]


@pytest.fixture(scope="module")
def embedder():
    return tiny_embedder(projection_dim=6)


@pytest.fixture(scope="module")
def exported(embedder, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("embedder"))
    return export_saved_model(embedder, base, corpus=CORPUS, corpus_ids=IDS)


def test_signatures_and_warmup(exported):
    assert sorted(signature_defs(exported)) == [
        "predict_token_ids", "search", "serving_default"]
    names = {log.predict_log.request.model_spec.signature_name
             for log in read_warmup_file(exported)}
    assert names == {"predict_token_ids", "search", "serving_default"}


def test_served_results_equal_in_process(embedder, exported):
    features = {name: value.numpy() for name, value in
                embedder.preprocessor(tf.constant(QUERIES)).items()}
    embeddings, search, from_ids = serve([
        (exported, "serving_default", {"text": QUERIES}),
        (exported, "search", {"query": QUERIES, "top_k": [3, 1, 8]}),
        (exported, "predict_token_ids", features),
    ])
    expected = embedder.encode(QUERIES)
    np.testing.assert_allclose(embeddings["embeddings"], expected, atol=1e-5)
    # One vector per text (not padded along a sequence axis).
    np.testing.assert_allclose(from_ids["embeddings"], expected, atol=1e-5)
    similarity = embedder.similarity(QUERIES, CORPUS)
    for row, top_k in enumerate([3, 1, 8]):
        best = np.argsort(-similarity[row], kind="stable")[:top_k]
        assert search["ids"][row][:top_k] == [IDS[i] for i in best]
        assert search["texts"][row][:top_k] == [CORPUS[i] for i in best]
        np.testing.assert_allclose(search["scores"][row][:top_k],
                                   similarity[row][best], atol=1e-5)
        # Rows asking for fewer than the batch's largest k are padded.
        assert search["ids"][row][top_k:] == [""] * (8 - top_k)
        assert search["scores"][row][top_k:] == [float("-inf")] * (8 - top_k)


def test_bfloat16_corpus_is_half_the_size(embedder, exported, tmp_path):
    small = export_saved_model(embedder, str(tmp_path), corpus=CORPUS,
                               corpus_dtype="bfloat16")
    (search,) = serve([(small, "search", {"query": QUERIES,
                                          "top_k": [2, 2, 2]})])
    similarity = embedder.similarity(QUERIES, CORPUS)
    np.testing.assert_allclose(
        search["scores"], -np.sort(-similarity, axis=1)[:, :2], atol=1e-2)


def test_bad_corpora_and_top_k_are_named(embedder, exported, tmp_path):
    with pytest.raises(ValueError, match="The search corpus is empty"):
        export_saved_model(embedder, str(tmp_path), corpus=[])
    with pytest.raises(ValueError, match=r"repeated: \['a'\]"):
        export_saved_model(embedder, str(tmp_path), corpus=["x", "y"],
                           corpus_ids=["a", "a"])
    with pytest.raises(ValueError, match="2 ids for 3 texts"):
        export_saved_model(embedder, str(tmp_path), corpus=["x", "y", "z"],
                           corpus_ids=["a", "b"])
    with pytest.raises(ValueError, match="corpus_dtype must be one of"):
        export_saved_model(embedder, str(tmp_path), corpus=["x"],
                           corpus_dtype="float16")
    assert os.listdir(tmp_path) == []
    loaded = tf.saved_model.load(exported)
    for top_k, message in ((0, "top_k must be >= 1"),
                           (9, "top_k must be at most the corpus size, 8")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            loaded.signatures["search"](query=tf.constant(["red"]),
                                        top_k=tf.constant([top_k]))


def test_precomputed_corpus_embeddings(embedder, tmp_path):
    # Scaled rows: the index normalises given vectors as encoded ones.
    given = corpus_index(embedder, CORPUS, IDS, progress=False,
                         embeddings=3 * embedder.encode(CORPUS))
    encoded = corpus_index(embedder, CORPUS, IDS, progress=False)
    queries = unit_vectors(embedder.encode(QUERIES))
    top_k = tf.constant([3, 1, 8])
    expected, actual = (index.search(queries, top_k)
                        for index in (encoded, given))
    for name in ("ids", "texts"):
        assert actual[name].numpy().tolist() == expected[name].numpy().tolist()
    np.testing.assert_allclose(actual["scores"], expected["scores"],
                               atol=1e-5)
    # The given vectors are the ones searched: ash gets the first query's.
    vectors = embedder.encode(CORPUS)
    vectors[-1] = 2 * queries[0].numpy()
    best = corpus_index(embedder, CORPUS, IDS, progress=False,
                        embeddings=vectors).search(queries[:1], top_k[:1])
    assert best["ids"].numpy()[0, 0] == b"doc-7"
    np.testing.assert_allclose(best["scores"][0, 0], 1.0, atol=1e-5)
    # export_saved_model passes them on, checked before anything is saved.
    dim = embedder.embedding_dim
    for embeddings, message in (
            (np.ones((len(CORPUS) - 1, dim)), r"must be \[len\(corpus\)"),
            (np.full((len(CORPUS), dim), np.nan), "NaN or infinite"),
            (np.zeros((len(CORPUS), dim)), "all-zero rows")):
        with pytest.raises(ValueError, match=message):
            export_saved_model(embedder, str(tmp_path / "bad"),
                               corpus=CORPUS, corpus_embeddings=embeddings)
    with pytest.raises(ValueError, match="corpus_embeddings needs corpus="):
        export_saved_model(embedder, str(tmp_path / "bad"),
                           corpus_embeddings=np.ones((2, dim)))
    assert not os.path.exists(tmp_path / "bad")
