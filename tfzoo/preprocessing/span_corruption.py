"""T5's span corruption, in the graph, for pretraining in `tf.data`.

A text's tokens are split into spans; about 15% of them ("noise", in spans
of mean length 3) are hidden from the encoder, each span replaced by one
sentinel, and the decoder learns to write them back after their sentinels:

    tokens   The cute dog walks in the park
    inputs   The <extra_id_0> walks in <extra_id_1> park </s>   (encoder)
    targets  <extra_id_0> cute dog <extra_id_1> the </s>        (decoder)

The noise layout follows T5's `random_spans_noise_mask` (the `t5` and
`seqio` packages): for a sequence of n tokens, `round(n * noise_density)`
noise tokens (at least 1, at most n - 1) in `max(1, round(noise /
mean_noise_span_length))` spans; the noise and the other tokens are each
cut into that many non-empty spans uniformly at random, and the spans
alternate, starting with non-noise, so the last token is always noise
(`random_roll=True` rotates the mask by a random offset, seqio's fix).
The targets are each noise span's sentinel followed by its tokens, so
they end with the last noise span and no final sentinel, exactly as T5's
`nonnoise_span_to_unique_sentinel` targets (and `transformers`'
`run_t5_mlm_flax.py`) are; a text of one token hides nothing (inputs
`[token, </s>]`, targets `[</s>]`; T5 would give `<extra_id_0> </s>`).

Texts longer than an example are not cut off: `token_chunks` joins the
token stream of all texts (no separator, as T5's `reduce_concat_tokens`
does) and cuts it into `chunk_length` pieces, the last one shorter, so
every token is used once. `SpanCorruption.chunk_length` is the longest
piece whose corrupted inputs, with their `</s>`, fit
`encoder_sequence_length` (T5's `random_spans_helper`: 568 tokens for
512 inputs and 114 targets).
"""

import random

import keras
import numpy as np
import tensorflow as tf

from tfzoo.preprocessing.t5_seq2seq_lm_preprocessor import (
    T5Seq2SeqLMPreprocessor,
)


def span_counts(length, noise_density=0.15, mean_noise_span_length=3.0):
    """`(noise tokens, noise spans)` for a sequence of `length` tokens.

    Works on Python ints and on int scalar tensors. A sequence shorter
    than 2 is counted as 2 (T5's rule), so its noise is cut off after.

    >>> span_counts(100), span_counts(568), span_counts(1)
    ((15, 5), (85, 28), (1, 1))
    """
    if isinstance(length, (int, np.integer)):  # as the graph, in float32
        length = max(int(length), 2)
        noise = int(np.round(np.float32(length) * np.float32(noise_density)))
        noise = min(max(noise, 1), length - 1)
        spans = int(np.round(np.float32(noise)
                             / np.float32(mean_noise_span_length)))
        return noise, min(max(spans, 1), length - noise)
    length = tf.maximum(tf.cast(length, "int32"), 2)
    noise = tf.cast(tf.round(tf.cast(length, "float32") * noise_density),
                    "int32")
    noise = tf.clip_by_value(noise, 1, length - 1)
    spans = tf.cast(tf.round(tf.cast(noise, "float32")
                             / mean_noise_span_length), "int32")
    return noise, tf.clip_by_value(spans, 1, length - noise)


def corrupted_lengths(length, noise_density=0.15,
                      mean_noise_span_length=3.0):
    """`(inputs, targets)` lengths, each with its `</s>`, after corrupting
    `length` tokens.

    >>> corrupted_lengths(568)
    (512, 114)
    """
    if length < 2:  # nothing is hidden; a token's targets: <extra_id_0>
        return length + 1, length + 1
    noise, spans = span_counts(length, noise_density,
                               mean_noise_span_length)
    return length - noise + spans + 1, noise + spans + 1


def longest_chunk(encoder_sequence_length, noise_density=0.15,
                  mean_noise_span_length=3.0):
    """`(chunk_length, targets_length)`: the most tokens whose corrupted
    inputs, with `</s>`, fit `encoder_sequence_length`, and the length of
    their targets with `</s>` (T5's `random_spans_helper`).

    >>> longest_chunk(512)
    (568, 114)
    """
    length = int(encoder_sequence_length) - 1
    while corrupted_lengths(length + 1, noise_density,
                            mean_noise_span_length)[0] \
            <= encoder_sequence_length:
        length += 1
    return length, corrupted_lengths(length, noise_density,
                                     mean_noise_span_length)[1]


def random_spans_noise_mask(length, seed, noise_density=0.15,
                            mean_noise_span_length=3.0, random_roll=False):
    """T5's noise mask: bool `[length]`, True on the hidden tokens.

    Args:
        length: an int scalar (tensor).
        seed: a stateless seed, int `[2]`.
        random_roll: rotate the mask by a random offset (seqio's option),
            so the last token is not always noise.
    """
    length = tf.cast(length, "int32")
    padded_length = tf.maximum(length, 2)
    num_noise, num_spans = span_counts(padded_length, noise_density,
                                       mean_noise_span_length)
    noise_seed, other_seed, roll_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 3))
    noise_lengths = _random_segmentation(num_noise, num_spans, noise_seed)
    other_lengths = _random_segmentation(padded_length - num_noise,
                                         num_spans, other_seed)
    # Non-noise span 0, noise span 0, non-noise span 1, ...
    span_lengths = tf.reshape(tf.stack([other_lengths, noise_lengths], 1),
                              [-1])
    span_of_token = tf.repeat(tf.range(2 * num_spans), span_lengths)
    mask = tf.equal(span_of_token % 2, 1)[:length]
    if random_roll:
        offset = tf.random.stateless_uniform(
            [], roll_seed, 0, tf.maximum(length, 1), "int32")
        mask = tf.roll(mask, offset, 0)
    return mask


def _random_segmentation(num_items, num_segments, seed):
    """Lengths (int32 `[num_segments]`, each >= 1, summing to `num_items`)
    of a uniformly random cut of `num_items` items into `num_segments`."""
    # Cut after the items whose gaps draw the smallest scores.
    scores = tf.random.stateless_uniform([num_items - 1], seed)
    cuts = tf.sort(tf.argsort(scores)[:num_segments - 1] + 1)
    bounds = tf.concat([[0], tf.cast(cuts, "int32"), [num_items]], 0)
    return bounds[1:] - bounds[:-1]


def _sentinels_at_span_starts(token_ids, noise, sentinel_ids):
    """`(starts, sentinels)`: where each noise span starts, and the
    sentinel of the span each token is in (`sentinel_ids[k]` for span k)."""
    previous = tf.concat([[False], noise[:-1]], 0)
    starts = noise & ~previous
    span_number = tf.cumsum(tf.cast(starts, "int32")) - 1
    sentinels = tf.gather(sentinel_ids, tf.maximum(span_number, 0))
    return starts, sentinels


def _corrupted_pair(token_ids, noise, sentinel_ids):
    """Inputs: the tokens, each noise span replaced by its sentinel;
    targets: each noise span's sentinel, then its tokens."""
    starts, sentinels = _sentinels_at_span_starts(token_ids, noise,
                                                  sentinel_ids)
    inputs = tf.boolean_mask(tf.where(starts, sentinels, token_ids),
                             ~noise | starts)
    # Per token the pair (its span's sentinel, the token), kept as
    # (span start, noise): a sentinel before each span, then the span.
    pairs = tf.reshape(tf.stack([sentinels, token_ids], 1), [-1])
    keep = tf.reshape(tf.stack([starts, noise], 1), [-1])
    return inputs, tf.boolean_mask(pairs, keep)


def token_chunks(texts, tokenizer, chunk_length, texts_per_batch=256):
    """A `tf.data.Dataset` of int32 token id chunks `[chunk_length]` (the
    last one shorter) cut from the stream of all `texts`' tokens.

    Texts are joined in order, with no separator (as T5's pretraining
    data), so long texts span several chunks and short ones share one;
    no token is dropped. Tokenizing runs in the graph, `texts_per_batch`
    texts at a time.

    Args:
        texts: a list of strings, or a `tf.data.Dataset` of strings
            (scalars, or batches `[None]`).
        tokenizer: any tokenizer with `tokenize` (strings to ragged ids).
        chunk_length: tokens per chunk, e.g. `SpanCorruption.chunk_length`.
    """
    if int(chunk_length) < 1:
        raise ValueError(f"chunk_length must be >= 1, got {chunk_length}.")
    if not isinstance(texts, tf.data.Dataset):
        texts = tf.data.Dataset.from_tensor_slices(
            tf.constant(list(texts), tf.string, shape=[len(texts)]))
    if texts.element_spec.shape.rank == 0:
        texts = texts.batch(texts_per_batch)

    def stream(batch):
        ids = tokenizer.tokenize(batch)
        if isinstance(ids, tf.RaggedTensor):
            ids = ids.flat_values
        return tf.reshape(tf.cast(ids, "int32"), [-1])

    return texts.map(stream, num_parallel_calls=tf.data.AUTOTUNE).rebatch(
        int(chunk_length))


@keras.saving.register_keras_serializable(package="tfzoo")
class SpanCorruption(keras.layers.Layer):
    """Token ids to T5's span-corruption training pairs, packed for
    `T5Seq2SeqLM`.

    `corrupt(token_ids, index)` corrupts one sequence (1-D ids without
    `</s>`) into `(inputs, targets)` (see the module doc), with the
    stateless seed `(seed, index)`: give each example its own `index`
    (e.g. from `Dataset.enumerate`) and the result is reproducible, and
    different across examples and seeds. Only core TF ops: it runs in
    `Dataset.map(..., num_parallel_calls=AUTOTUNE)` and `tf.function`.

    `pack(inputs, targets)` takes ragged batches of those and returns what
    `T5Seq2SeqLMPreprocessor` gives `T5Seq2SeqLM` for (source, target)
    pairs: `({"encoder_token_ids", "encoder_padding_mask",
    "decoder_token_ids", "decoder_padding_mask"}, labels, sample_weight)`,
    each ending in `</s>`, padded to their length buckets. Calling the
    layer on a ragged batch of token ids (with `indices`, by default
    0, 1, ...) does both. `dataset(texts, batch_size)` builds the whole
    pipeline: `token_chunks`, an optional shuffle, `corrupt` (the index
    is the position in the shuffled stream, so a reshuffled epoch gets
    new noise), batching and `pack`.

    Args:
        tokenizer: a `SentencePieceTokenizer` with T5's sentinels
            (`extra_ids=100`), `</s>` and `<pad>` = 0.
        encoder_sequence_length: the inputs' length with `</s>`. Chunks of
            `chunk_length` tokens corrupt to exactly this; the targets of
            such chunks fit `decoder_sequence_length`, derived from it.
        noise_density: the share of tokens hidden.
        mean_noise_span_length: the mean length of a hidden span.
        seed: an int; random if None (and then kept in the config).
        length_buckets: pad each batch to its length bucket, as
            `T5Seq2SeqLMPreprocessor` does.
        random_roll: rotate each noise mask by a random offset (seqio's
            option; off in T5), so the last token is not always noise.

    Example:

    >>> from tfzoo.tokenizers import (SentencePieceTokenizer,
    ...                               train_sentence_piece_model)
    >>> texts = ["the cute dog walks in the park", "a cat sleeps on the "
    ...          "warm mat", "birds sing in the green trees"] * 10
    >>> tokenizer = SentencePieceTokenizer(train_sentence_piece_model(
    ...     texts, 80, model_type="bpe", conventions="t5"), extra_ids=100)
    >>> corruption = SpanCorruption(tokenizer, encoder_sequence_length=32,
    ...                             seed=1)
    >>> corruption.chunk_length, corruption.decoder_sequence_length
    (34, 8)
    >>> ids = tokenizer([texts[0] + " " + texts[1]])[0]  # 14 tokens
    >>> inputs, targets = corruption.corrupt(ids, 0)  # 2 noise, 1 span
    >>> tokenizer.detokenize(tf.stack([inputs])).numpy()[0]
    b'the cute dog walks in the park a cat sleeps on the<extra_id_0>'
    >>> tokenizer.detokenize(tf.stack([targets])).numpy()[0]
    b'<extra_id_0> warm mat'
    >>> features, labels, weights = next(iter(
    ...     corruption.dataset(texts, batch_size=4)))
    >>> features["encoder_token_ids"].shape, labels.shape
    (TensorShape([4, 32]), TensorShape([4, 8]))
    >>> int(features["encoder_padding_mask"].numpy().sum(1).max())  # full
    32
    """

    def __init__(self, tokenizer, encoder_sequence_length=512,
                 noise_density=0.15, mean_noise_span_length=3.0, seed=None,
                 length_buckets=True, random_roll=False, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < noise_density < 1.0:
            raise ValueError(
                f"noise_density must be in (0, 1), got {noise_density}.")
        if mean_noise_span_length < 1.0:
            raise ValueError(f"mean_noise_span_length must be >= 1, got "
                             f"{mean_noise_span_length}.")
        if int(encoder_sequence_length) < 3:
            raise ValueError(f"encoder_sequence_length must be >= 3, got "
                             f"{encoder_sequence_length}.")
        extra_ids = getattr(tokenizer, "extra_ids", 0)
        if not extra_ids:
            raise ValueError(
                "Span corruption needs T5's sentinels <extra_id_0>, ... in "
                "the tokenizer; this one has none. Make it with "
                "SentencePieceTokenizer(proto, extra_ids=100), e.g. with "
                "proto = train_sentence_piece_model(texts, size, "
                "conventions='t5')."
            )
        self.tokenizer = tokenizer
        self.encoder_sequence_length = int(encoder_sequence_length)
        self.noise_density = float(noise_density)
        self.mean_noise_span_length = float(mean_noise_span_length)
        self.seed = random.randrange(2**31) if seed is None else int(seed)
        self.length_buckets = bool(length_buckets)
        self.random_roll = bool(random_roll)
        self.chunk_length, self.decoder_sequence_length = longest_chunk(
            self.encoder_sequence_length, self.noise_density,
            self.mean_noise_span_length)
        _, spans = self._span_counts(self.chunk_length)
        if spans > extra_ids:
            raise ValueError(
                f"Chunks of {self.chunk_length} tokens have {spans} noise "
                f"spans, but the tokenizer has {extra_ids} sentinels. Use "
                f"a shorter encoder_sequence_length, a longer "
                f"mean_noise_span_length, or more extra_ids."
            )
        self.sentinel_ids = [tokenizer.sentinel_id(i)
                             for i in range(extra_ids)]
        # Checks </s> and <pad> = 0, and packs as T5 fine-tuning does.
        self.packer = T5Seq2SeqLMPreprocessor(
            tokenizer, self.encoder_sequence_length,
            self.decoder_sequence_length, length_buckets=length_buckets)
        self.built = True

    def _span_counts(self, length):
        return span_counts(length, self.noise_density,
                           self.mean_noise_span_length)

    def corrupt(self, token_ids, index):
        """One sequence's `(inputs, targets)`, int32 `[None]` each, without
        `</s>`; `index` (an int scalar) picks the seed `(seed, index)`."""
        token_ids = tf.cast(tf.reshape(token_ids, [-1]), "int32")
        seed = tf.stack([tf.constant(self.seed, "int64"),
                         tf.cast(index, "int64")])
        noise = random_spans_noise_mask(
            tf.size(token_ids), seed, self.noise_density,
            self.mean_noise_span_length, self.random_roll)
        _, num_spans = self._span_counts(tf.size(token_ids))
        sentinel_ids = tf.constant(self.sentinel_ids, "int32")
        check = tf.debugging.assert_less_equal(
            num_spans, len(self.sentinel_ids), message=(
                "SpanCorruption: a sequence has more noise spans than the "
                "tokenizer has sentinels; cut texts with token_chunks(..., "
                "chunk_length) first."))
        with tf.control_dependencies([check]):
            return _corrupted_pair(token_ids, noise, sentinel_ids)

    def pack(self, inputs, targets):
        """Ragged batches of corrupted pairs to `T5Seq2SeqLM`'s
        `(features, labels, sample_weight)`."""
        return self.packer.pack(inputs, targets)

    def __call__(self, token_ids, indices=None):
        # Ragged inputs bypass Keras' tensor conversion.
        return self.call(token_ids, indices)

    def call(self, token_ids, indices=None):
        """A batch of token ids (ragged, or dense with every id real) to
        packed `(features, labels, sample_weight)`."""
        if not isinstance(token_ids, tf.RaggedTensor):
            token_ids = tf.RaggedTensor.from_tensor(token_ids)
        token_ids = tf.cast(token_ids, "int32")
        if indices is None:
            indices = tf.range(token_ids.nrows())
        row_spec = tf.RaggedTensorSpec([None], tf.int32, ragged_rank=0)
        inputs, targets = tf.map_fn(
            lambda row: self.corrupt(*row),
            (token_ids, tf.cast(indices, "int64")),
            fn_output_signature=(row_spec, row_spec))
        return self.pack(inputs, targets)

    def dataset(self, texts, batch_size, shuffle=True,
                shuffle_buffer_size=10_000):
        """Batches of `(features, labels, sample_weight)` from `texts` (a
        list or a `tf.data.Dataset` of strings), cut by `token_chunks`."""
        chunks = token_chunks(texts, self.tokenizer, self.chunk_length)
        if shuffle:
            chunks = chunks.shuffle(shuffle_buffer_size, seed=self.seed,
                                    reshuffle_each_iteration=True)
        pairs = chunks.enumerate().map(
            lambda index, ids: self.corrupt(ids, index),
            num_parallel_calls=tf.data.AUTOTUNE)
        return pairs.ragged_batch(batch_size).map(
            self.pack, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
            tf.data.AUTOTUNE)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tokenizer": keras.layers.serialize(self.tokenizer),
                "encoder_sequence_length": self.encoder_sequence_length,
                "noise_density": self.noise_density,
                "mean_noise_span_length": self.mean_noise_span_length,
                "seed": self.seed,
                "length_buckets": self.length_buckets,
                "random_roll": self.random_roll,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["tokenizer"] = keras.layers.deserialize(config["tokenizer"])
        return cls(**config)
