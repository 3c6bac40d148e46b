"""Packing a corpus into fixed-length sequences for causal LM training."""

import numpy as np
import tensorflow as tf


def pack_token_ids(documents, sequence_length, separator_id):
    """Concatenates tokenized documents and cuts them into training rows.

    Documents are joined with `separator_id` between them (and before the
    first), then cut into rows of `sequence_length + 1` tokens that overlap
    by one token, so each row gives `sequence_length` inputs and the
    `sequence_length` next tokens as labels. The last row is padded, with
    zero weight on its padding: no token is dropped.

    Args:
        documents: iterable of token id sequences.
        sequence_length: tokens per training row.
        separator_id: the end-of-text id joining documents.

    Returns:
        `(features, labels, weights)` numpy arrays: features
        `{"token_ids", "padding_mask"}` int32 `[rows, sequence_length]`,
        labels int32 and weights float32 of the same shape.

    Example:

    >>> features, labels, weights = pack_token_ids([[5, 6, 7], [8]], 3, 0)
    >>> features["token_ids"].tolist()
    [[0, 5, 6], [7, 0, 8]]
    >>> labels.tolist(), weights.tolist()
    ([[5, 6, 7], [0, 8, 0]], [[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    """
    if sequence_length < 1:
        raise ValueError(
            f"sequence_length must be >= 1, got {sequence_length}."
        )
    stream = []
    for document in documents:
        stream.append(separator_id)
        stream.extend(int(token) for token in document)
    if len(stream) < 2:
        raise ValueError(
            "The corpus is empty: no tokens to train on. Pass non-empty "
            "documents."
        )
    stream = np.asarray(stream, "int32")
    rows = -(-(len(stream) - 1) // sequence_length)
    padded = np.zeros(rows * sequence_length + 1, "int32")
    padded[: len(stream)] = stream
    real = np.zeros(rows * sequence_length + 1, "float32")
    real[: len(stream)] = 1.0
    starts = np.arange(rows)[:, None] * sequence_length
    positions = starts + np.arange(sequence_length)[None]
    token_ids = padded[positions]
    labels = padded[positions + 1]
    padding_mask = real[positions].astype("int32")
    weights = real[positions + 1]
    features = {"token_ids": token_ids, "padding_mask": padding_mask}
    return features, labels, weights


def packed_dataset(texts, tokenizer, sequence_length, batch_size,
                   shuffle=True, seed=0):
    """A `tf.data.Dataset` of packed rows from raw `texts`.

    Tokenizes with `tokenizer` (in the graph, batched), packs with
    `pack_token_ids`, and batches, keeping the last partial batch.
    The tokenizer's end-of-text id separates documents.
    """
    texts = list(texts)
    if not texts:
        raise ValueError("No texts to train on.")
    separator = tokenizer.end_of_text_id
    if separator is None:
        raise ValueError(
            "The tokenizer has no end-of-text token to separate documents; "
            "add '<|endoftext|>' to a BPE vocabulary, or train the "
            "SentencePiece model with an eos piece ('</s>')."
        )
    documents = []
    for start in range(0, len(texts), 512):
        ids = tokenizer.tokenize(tf.constant(texts[start:start + 512]))
        documents.extend(ids.to_list())
    features, labels, weights = pack_token_ids(
        documents, sequence_length, separator
    )
    dataset = tf.data.Dataset.from_tensor_slices((features, labels, weights))
    if shuffle:
        dataset = dataset.shuffle(len(labels), seed=seed,
                                  reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
