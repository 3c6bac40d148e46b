"""Serving signatures of TextEmbedder: texts to vectors, and search over a
corpus stored inside the SavedModel.

- `serving_default`: `text`, string `[batch]`, tokenized in the graph by
  the model's preprocessor and run at the batch's length bucket; out:
  `embeddings` float32 `[batch, dim]` (unit length if the model
  normalises).
- `predict_token_ids`: `token_ids`, `segment_ids`, `padding_mask` int32
  `[batch, sequence_length]`; out: `embeddings`.
- `search`, when exported with a corpus: `query`, string `[batch]`, and
  `top_k`, int32 `[batch]` (1 to the corpus size); out, `[batch, k]` with
  k the batch's largest `top_k` (rows asking for fewer are padded with
  id "", text "" and score -inf): `ids`, `texts` (strings) and `scores`
  (float32 cosine similarities, best first). The corpus embeddings are a
  variable of the SavedModel (float32, or bfloat16 to halve it), the ids
  and texts string variables; search is a matmul and `top_k`, core ops
  that stock `tensorflow_model_server` runs. The corpus is embedded at
  export time with `model.encode`, or given precomputed
  (`corpus_embeddings`, e.g. embedded elsewhere or in batches earlier);
  either way rows are normalised to unit length before they are stored.
"""

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from tfzoo.export import warmup
from tfzoo.export.token_id_signature import token_id_signature
from tfzoo.models.task_preprocessing import require_preprocessor
from tfzoo.models.text_embedder import unit_vectors
from tfzoo.preprocessing.length_buckets import call_on_length_bucket
from tfzoo.preprocessing.text_embedder_preprocessor import (
    TextEmbedderPreprocessor,
)

CORPUS_DTYPES = ("float32", "bfloat16")


class CorpusIndex(tf.Module):
    """A corpus as variables: unit embeddings `[size, dim]`, ids, texts."""

    def __init__(self, embeddings, ids, texts, dtype="float32"):
        super().__init__(name="corpus_index")
        self.embeddings = tf.Variable(
            tf.cast(embeddings, dtype), trainable=False, name="embeddings"
        )
        self.ids = tf.Variable(ids, dtype=tf.string, trainable=False,
                               name="ids")
        self.texts = tf.Variable(texts, dtype=tf.string, trainable=False,
                                 name="texts")
        self.size = len(ids)

    def search(self, query_vectors, top_k):
        """`ids`, `texts`, `scores` `[batch, max(top_k)]` for unit query
        vectors, rows padded past their own `top_k`."""
        checks = [
            tf.debugging.assert_greater_equal(
                top_k, 1, message="top_k must be >= 1"),
            tf.debugging.assert_less_equal(
                top_k, self.size,
                message=f"top_k must be at most the corpus size, "
                        f"{self.size}"),
        ]
        with tf.control_dependencies(checks):
            k = tf.reduce_max(top_k)
        scores = tf.matmul(
            query_vectors, tf.cast(self.embeddings, "float32"),
            transpose_b=True,
        )
        best = tf.math.top_k(scores, k=k)
        wanted = tf.range(k)[None, :] < top_k[:, None]
        return {
            "ids": tf.where(wanted, tf.gather(self.ids, best.indices), ""),
            "texts": tf.where(wanted, tf.gather(self.texts, best.indices),
                              ""),
            "scores": tf.where(wanted, best.values, float("-inf")),
        }


def corpus_index(model, corpus, corpus_ids=None, dtype="float32",
                 batch_size=64, progress=True, embeddings=None):
    """A `CorpusIndex` of `corpus` (a list of texts), embedded with
    `model.encode` unless `embeddings` (float `[len(corpus),
    model.embedding_dim]`, row i the vector of text i, from this model)
    are given. Ids default to "0", "1", ... and must be unique."""
    if dtype not in CORPUS_DTYPES:
        raise ValueError(
            f"corpus_dtype must be one of {list(CORPUS_DTYPES)}, got "
            f"{dtype!r}."
        )
    texts = list(corpus)
    if not texts:
        raise ValueError(
            "The search corpus is empty: pass corpus= a list of at least "
            "one text."
        )
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str)]
    if bad:
        raise TypeError(
            f"Corpus entries must be strings; entry {bad[0]} is a "
            f"{type(texts[bad[0]]).__name__}."
        )
    ids = ([str(i) for i in range(len(texts))] if corpus_ids is None
           else [str(i) for i in corpus_ids])
    if len(ids) != len(texts):
        raise ValueError(
            f"corpus_ids has {len(ids)} ids for {len(texts)} texts; give one "
            f"id per text."
        )
    seen, duplicates = set(), []
    for corpus_id in ids:
        if corpus_id in seen:
            duplicates.append(corpus_id)
        seen.add(corpus_id)
    if duplicates:
        raise ValueError(
            f"corpus_ids must be unique; repeated: {sorted(set(duplicates))[:5]}"
            f". Search results name documents by id."
        )
    if embeddings is not None:
        vectors = checked_corpus_embeddings(
            embeddings, len(texts), model.embedding_dim)
        return CorpusIndex(unit_vectors(vectors).numpy(), ids, texts, dtype)
    chunks = []
    with tqdm(total=len(texts), desc="Embedding the search corpus",
              unit="text", disable=not progress, leave=False) as bar:
        for start in range(0, len(texts), 1024):
            chunk = texts[start:start + 1024]
            chunks.append(model.encode(chunk, batch_size=batch_size))
            bar.update(len(chunk))
    vectors = unit_vectors(np.concatenate(chunks)).numpy()
    return CorpusIndex(vectors, ids, texts, dtype)


def checked_corpus_embeddings(embeddings, size, dim):
    """`embeddings` as a float32 array `[size, dim]` of finite, non-zero
    rows, or a ValueError saying what to pass."""
    try:
        vectors = np.asarray(embeddings, dtype="float32")
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"corpus_embeddings must be a float array [len(corpus), {dim}]; "
            f"it could not be read as one ({error})."
        ) from None
    if vectors.shape != (size, dim):
        raise ValueError(
            f"corpus_embeddings has shape {list(vectors.shape)}; it must be "
            f"[len(corpus), embedding_dim] = [{size}, {dim}]: one vector "
            f"per corpus text, in corpus order, from this model."
        )
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        raise ValueError(
            f"corpus_embeddings has NaN or infinite values in "
            f"{int(bad.sum())} rows (first: row {int(np.argmax(bad))}); "
            f"re-embed those texts."
        )
    zero = ~(np.abs(vectors) > 0).any(axis=1)
    if zero.any():
        raise ValueError(
            f"corpus_embeddings has {int(zero.sum())} all-zero rows (first: "
            f"row {int(np.argmax(zero))}), which have no direction to "
            f"search by; re-embed those texts."
        )
    return vectors


def embedder_signatures(model, index=None):
    """`{name: tf.function}` for a `TextEmbedder` (see the module doc);
    `index` (a `CorpusIndex`) adds `search`."""
    preprocessor = require_preprocessor(model, TextEmbedderPreprocessor)

    def embeddings(features):
        return tf.cast(call_on_length_bucket(model, features), "float32")

    text_spec = tf.TensorSpec([None], tf.string)

    @tf.function(input_signature=[text_spec], autograph=False)
    def serve_text(text):
        return {"embeddings": embeddings(preprocessor(text))}

    predict_token_ids = token_id_signature(
        model, preprocessor.sequence_length,
        lambda vectors: {"embeddings": tf.cast(vectors, "float32")},
        per_token=False,
    )
    signatures = {
        "serving_default": serve_text,
        "predict_token_ids": predict_token_ids,
    }
    if index is not None:
        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.string, name="query"),
                tf.TensorSpec([None], tf.int32, name="top_k"),
            ],
            autograph=False,
        )
        def search(query, top_k):
            vectors = unit_vectors(embeddings(preprocessor(query)))
            return index.search(vectors, top_k)

        signatures["search"] = search
    return signatures


def embedder_warmup_logs(model, index=None):
    """One request per signature and length bucket."""
    preprocessor = model.preprocessor
    length = preprocessor.sequence_length
    logs = []
    for num_tokens in warmup.length_buckets(length - 2, length).values():
        text = warmup.filler_text(preprocessor.tokenizer, num_tokens)
        features = preprocessor([text])
        logs += [
            warmup.predict_log("serving_default", {"text": [text]}),
            warmup.predict_log(
                "predict_token_ids",
                {name: value.numpy() for name, value in features.items()},
            ),
        ]
        if index is not None:
            logs.append(warmup.predict_log(
                "search", {"query": [text],
                           "top_k": np.array([min(3, index.size)], "int32")},
            ))
    return logs
