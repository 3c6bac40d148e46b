"""Tests of `SpanCorruption`: T5's noise counts and span statistics,
sentinel order, inputs + targets rebuilding the text, seeds, tf.data and
tf.function, short texts, chunking, and a T5Seq2SeqLM fit step."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfzoo.models.t5 import T5Backbone, T5Seq2SeqLM
from tfzoo.preprocessing import (
    SpanCorruption,
    T5Seq2SeqLMPreprocessor,
    token_chunks,
)
from tfzoo.preprocessing.span_corruption import (
    corrupted_lengths,
    random_spans_noise_mask,
    span_counts,
)
from tfzoo.tokenizers import SentencePieceTokenizer, train_sentence_piece_model

TEXTS = ["the cute dog walks in the park", "a cat sleeps on the warm mat",
         "birds sing in the green trees", "we read a long book at night",
         "the old man fishes by the river"] * 8
END = 1


@pytest.fixture(scope="module")
def tokenizer():
    return SentencePieceTokenizer(train_sentence_piece_model(
        TEXTS, 100, model_type="bpe", conventions="t5"), extra_ids=100)


@pytest.fixture(scope="module")
def corruption(tokenizer):
    return SpanCorruption(tokenizer, encoder_sequence_length=64, seed=3)


def sentinel_number(tokenizer, token_id):
    """k for <extra_id_k>, None for other ids."""
    k = tokenizer.vocabulary_size - 1 - int(token_id)
    return k if 0 <= k < tokenizer.extra_ids else None


def merged(tokenizer, inputs, targets):
    """The original ids, from inputs with each sentinel replaced by the
    tokens after that sentinel in the targets."""
    spans, current = {}, None
    for token in targets:
        k = sentinel_number(tokenizer, token)
        if k is not None:
            current = spans.setdefault(k, [])
        else:
            current.append(int(token))
    tokens = []
    for token in inputs:
        k = sentinel_number(tokenizer, token)
        tokens.extend(spans.pop(k) if k is not None else [int(token)])
    assert not spans  # every target span was placed
    return tokens


def noise_spans(tokenizer, targets):
    """The lengths of the target's spans, in order, and their sentinels."""
    lengths, numbers = [], []
    for token in targets:
        k = sentinel_number(tokenizer, token)
        if k is not None:
            numbers.append(k)
            lengths.append(0)
        else:
            lengths[-1] += 1
    return lengths, numbers


def test_counts_follow_t5():
    # T5's random_spans_helper: 568 tokens corrupt to 512 inputs and 114
    # targets (with </s>); the Python and graph counts agree.
    assert corrupted_lengths(568) == (512, 114)
    lengths = np.arange(0, 2000)
    noise, spans = span_counts(tf.constant(lengths))
    assert [span_counts(int(n)) for n in lengths] == list(
        zip(noise.numpy().tolist(), spans.numpy().tolist()))


def test_pairs_rebuild_the_text_with_sentinels_in_order(tokenizer,
                                                        corruption):
    for index in range(60):
        length = 1 + index * 7 % 80
        ids = np.random.default_rng(index).integers(3, 90, length)
        inputs, targets = (t.numpy() for t in corruption.corrupt(ids, index))
        assert merged(tokenizer, inputs, targets) == ids.tolist()
        input_numbers = [k for k in (sentinel_number(tokenizer, t)
                                     for t in inputs) if k is not None]
        lengths, target_numbers = noise_spans(tokenizer, targets)
        noise, spans = span_counts(length)
        if length >= 2:
            assert input_numbers == target_numbers == list(range(spans))
            assert sum(lengths) == noise and min(lengths) >= 1
            # T5's layout: non-noise first, noise last.
            assert sentinel_number(tokenizer, inputs[0]) is None
            assert sentinel_number(tokenizer, inputs[-1]) == spans - 1
            assert (len(inputs) + 1, len(targets) + 1) == (
                corrupted_lengths(length))


def test_random_roll_keeps_pairs_whole(tokenizer):
    rolled = SpanCorruption(tokenizer, 64, seed=3, random_roll=True)
    first_is_noise = 0
    for index in range(40):
        ids = np.arange(3, 3 + 1 + index % 60)
        inputs, targets = (t.numpy() for t in rolled.corrupt(ids, index))
        assert merged(tokenizer, inputs, targets) == ids.tolist()
        numbers = noise_spans(tokenizer, targets)[1]
        assert numbers == list(range(len(numbers)))
        first_is_noise += sentinel_number(tokenizer, inputs[0]) is not None
    assert first_is_noise  # the mask moved


def test_noise_statistics_over_many_examples(corruption):
    # The counts are T5's deterministic functions of the length, so the
    # overall noise share and mean span length only differ from 0.15 and
    # 3 by rounding: |round(0.15 n) - 0.15 n| <= 0.5 per sequence.
    lengths = tf.constant(np.arange(20, 220), "int32")
    masks = [m.numpy() for m in tf.data.Dataset.from_tensor_slices(
        lengths).map(lambda n: random_spans_noise_mask(
            n, tf.stack([3, n])))]
    noise = sum(int(m.sum()) for m in masks)
    total = int(tf.reduce_sum(lengths))
    assert abs(noise / total - 0.15) <= 0.5 * len(masks) / total
    runs = [np.diff(np.flatnonzero(np.diff(np.r_[0, m, 0]))).tolist()[::2]
            for m in masks]
    span_lengths = [s for r in runs for s in r]
    assert all(len(r) == span_counts(int(n))[1] for r, n in
               zip(runs, lengths.numpy()))
    assert abs(np.mean(span_lengths) - 3.0) < 0.1

    # The random part: the segmentation is uniform. For 100 tokens (15
    # noise in 5 spans) P(first span = 1) = C(13,3) / C(14,4) = 2/7; over
    # N = 3000 seeds its standard error is 0.0082: 4.5 of them is 0.037.
    # And each middle position is noise with probability 0.15 up to the
    # edge effects; its error is 0.0065 and 0.04 is > 6 of them.
    n, trials = 100, 3000
    masks = next(iter(tf.data.Dataset.range(trials).map(
        lambda i: random_spans_noise_mask(n, tf.stack([tf.constant(
            7, "int64"), i]))).batch(trials))).numpy()
    first_span = np.argmax(np.diff(masks.astype(int), axis=1) == -1, 1) - (
        np.argmax(masks, 1)) + 1
    assert abs(np.mean(first_span == 1) - 2 / 7) < 4.5 * math.sqrt(
        2 / 7 * 5 / 7 / trials)
    assert np.abs(masks[:, 20:80].mean(0) - 0.15).max() < 0.04
    assert masks[:, -1].all() and not masks[:, 0].any()  # T5's layout


def test_seeds_make_results_reproducible_and_different(tokenizer):
    ids = np.arange(3, 63)
    first = SpanCorruption(tokenizer, 64, seed=5)
    again = SpanCorruption(tokenizer, 64, seed=5)
    other = SpanCorruption(tokenizer, 64, seed=6)
    pair = [t.numpy().tolist() for t in first.corrupt(ids, 4)]
    assert pair == [t.numpy().tolist() for t in again.corrupt(ids, 4)]
    assert pair != [t.numpy().tolist() for t in other.corrupt(ids, 4)]
    distinct = {tuple(first.corrupt(ids, i)[1].numpy()) for i in range(20)}
    assert len(distinct) >= 18  # different across examples


def test_tf_data_tf_function_and_batch_call_agree(tokenizer, corruption):
    rows = [np.arange(3, 3 + n) for n in (1, 2, 5, 40, 60)]
    ragged = tf.ragged.constant(rows, dtype=tf.int32)
    expected = corruption(ragged)  # indices 0, 1, ...
    dataset = tf.data.Dataset.from_tensor_slices(ragged).enumerate().map(
        lambda i, ids: corruption.corrupt(ids, i),
        num_parallel_calls=tf.data.AUTOTUNE).ragged_batch(5).map(
        corruption.pack)
    traced = tf.function(lambda ids: corruption(ids))(ragged)
    for got in (next(iter(dataset)), traced):
        tf.nest.map_structure(np.testing.assert_array_equal, got, expected)
    features, labels, weights = expected
    # Packed as T5Seq2SeqLMPreprocessor packs (source, target) pairs.
    inputs, targets = zip(*(corruption.corrupt(r, i)
                            for i, r in enumerate(rows)))
    reference = T5Seq2SeqLMPreprocessor(tokenizer, 64, corruption
                                        .decoder_sequence_length).pack(
        tf.ragged.stack(inputs), tf.ragged.stack(targets))
    tf.nest.map_structure(np.testing.assert_array_equal, expected, reference)
    assert features["encoder_token_ids"][0, :2].numpy().tolist() == [3, END]
    assert labels[0, 0] == END  # one token: nothing hidden, target </s>
    assert features["decoder_token_ids"][:, 0].numpy().tolist() == [0] * 5


def test_dataset_is_reproducible_and_reshuffles_noise(tokenizer):
    def first_epoch_targets(dataset):
        return [labels.numpy().tolist() for _, labels, _ in dataset]

    make = lambda: SpanCorruption(tokenizer, 64, seed=9).dataset(  # noqa
        TEXTS, batch_size=4)
    dataset = make()
    first = first_epoch_targets(dataset)
    assert first == first_epoch_targets(make())  # same seed, same data
    assert first != first_epoch_targets(dataset)  # a new epoch, new noise


def test_short_and_empty_sequences(tokenizer, corruption):
    inputs, targets = corruption.corrupt(tf.constant([], tf.int32), 0)
    assert inputs.shape == (0,) and targets.shape == (0,)
    inputs, targets = corruption.corrupt([7], 0)
    assert inputs.numpy().tolist() == [7] and targets.shape == (0,)
    inputs, targets = corruption.corrupt([7, 8], 0)
    zero = tokenizer.sentinel_id(0)
    assert inputs.numpy().tolist() == [7, zero]
    assert targets.numpy().tolist() == [zero, 8]


def test_chunks_keep_every_token_and_fill_the_encoder(tokenizer,
                                                      corruption):
    texts = [" ".join(TEXTS[:12]), "", "a cat"] + TEXTS[:30]
    chunks = [c.numpy() for c in token_chunks(texts, tokenizer,
                                              corruption.chunk_length)]
    stream = tokenizer(texts).flat_values.numpy()
    np.testing.assert_array_equal(np.concatenate(chunks), stream)
    assert {len(c) for c in chunks[:-1]} == {corruption.chunk_length}
    batches = list(corruption.dataset(tf.data.Dataset.from_tensor_slices(
        texts), batch_size=4, shuffle=False))
    assert sum(len(b[1]) for b in batches) == len(chunks)
    features, labels, _ = batches[0]
    assert features["encoder_padding_mask"].numpy().sum(1).tolist() == [
        64] * 4  # full chunks fill encoder_sequence_length exactly
    assert labels.shape[1] == corruption.decoder_sequence_length == 14


def test_missing_sentinels_and_too_many_spans(tokenizer):
    plain = SentencePieceTokenizer(tokenizer.proto)
    with pytest.raises(ValueError, match=r"extra_ids=100.*conventions='t5'"):
        SpanCorruption(plain)
    few = SentencePieceTokenizer(tokenizer.proto, extra_ids=2)
    with pytest.raises(ValueError, match="2 sentinels"):
        SpanCorruption(few, encoder_sequence_length=512)
    small = SpanCorruption(few, encoder_sequence_length=16)
    with pytest.raises(tf.errors.InvalidArgumentError, match="token_chunks"):
        small.corrupt(np.arange(3, 203), 0)


def test_config_round_trip(corruption):
    clone = SpanCorruption.from_config(corruption.get_config())
    ids = np.arange(3, 50)
    tf.nest.map_structure(np.testing.assert_array_equal,
                          clone.corrupt(ids, 2), corruption.corrupt(ids, 2))


def test_t5_fits_on_its_output(tokenizer, corruption):
    model = T5Seq2SeqLM(T5Backbone.from_preset(
        "t5_tiny", vocabulary_size=tokenizer.vocabulary_size))
    model.compile(jit_compile=False)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(corruption.dataset(TEXTS, batch_size=4),
                        steps_per_epoch=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(b, w.numpy()) for b, w in
               zip(before, model.trainable_weights))
