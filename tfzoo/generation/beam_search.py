"""Beam search over the cached decoder, in one `tf.while_loop`."""

import tensorflow as tf

from tfzoo.generation.cached_steps import (
    loop_over_positions,
    prefilled_cache,
    previous_token_hidden,
)
from tfzoo.layers.cache_update import write_at_position

NEGATIVE_INFINITY = -1e9


def beam_search(backbone, logits_of, prompt_ids, prompt_lengths,
                max_new_tokens, capacity, num_beams, stop_token_ids,
                pad_id=0, beams_per_row=None, with_scores=False):
    """The most likely continuation of each prompt among `num_beams` beams.

    Each step extends every beam by every token, and keeps the
    `num_beams` extensions with the highest total log-probability. A beam
    that emits a stop token is finished: it keeps its score and is only
    extended by padding. As in `decode`, prompts are right-padded and a
    row follows its own prompt until that ends (one live beam), so batching
    does not change any row's result. Arguments and results are those of
    `tfzoo.generation.decode`, with `max_new_tokens` `[batch]` and the
    best beam's tokens returned. A `backbone` with `repeated(num_beams)`
    (a `ContextDecoder`) is repeated per beam after the prompt pass.

    `num_beams` may be a scalar tensor (in plain TensorFlow; XLA needs a
    constant). `beams_per_row` (int32 `[batch]`, each in `[1,
    num_beams]`) gives each row its own beam count: a row's beams past its
    count are dropped after every step, so the row gets what a search
    with its own count gives (its best `k` extensions are the same
    whatever the width). With `with_scores`, also returns the best beam's
    score, its summed token log-probabilities (float32 `[batch]`).
    """
    batch = tf.shape(prompt_ids)[0]
    prompt_width = tf.shape(prompt_ids)[1]
    total_width = prompt_width + capacity

    def per_beam(tensor):  # [batch, ...] -> [batch * num_beams, ...]
        return tf.repeat(tensor, num_beams, axis=0)

    tokens = tf.pad(per_beam(prompt_ids), [[0, 0], [0, capacity]],
                    constant_values=pad_id)
    lengths = per_beam(prompt_lengths)
    row_prompt_lengths = lengths
    end_index = tf.minimum(per_beam(prompt_lengths + max_new_tokens),
                           total_width)
    cache = tf.nest.map_structure(
        per_beam, prefilled_cache(backbone, prompt_ids, total_width)
    )
    if hasattr(backbone, "repeated"):
        # A fixed context (an encoder-decoder's, see `ContextDecoder`):
        # repeated per beam once, never reordered (a row's beams share it).
        backbone = backbone.repeated(num_beams)
    # Only the first beam of each row is alive at first.
    scores = tf.tile(
        tf.concat([[0.0], tf.fill([num_beams - 1], NEGATIVE_INFINITY)], 0),
        [batch],
    )
    finished = lengths >= end_index
    if beams_per_row is not None:
        # Slots past a row's count: dead from the start, and always done.
        dropped = tf.reshape(
            tf.range(num_beams)[None] >= beams_per_row[:, None], [-1])
        finished = finished | dropped
    else:
        dropped = None

    def step(state):
        index, tokens, lengths, scores, finished, cache = state
        hidden, cache = previous_token_hidden(backbone, tokens, cache, index)
        log_probs = tf.nn.log_softmax(
            tf.cast(logits_of(hidden), "float32"), axis=-1
        )
        vocabulary_size = tf.shape(log_probs)[1]
        in_prompt = index < row_prompt_lengths
        # Rows still in their prompt, and finished beams, are forced to
        # one token at no cost: the prompt token, or padding.
        forced = tf.where(in_prompt, tf.gather(tokens, index, axis=1), pad_id)
        forced_log_probs = tf.where(
            tf.one_hot(forced, vocabulary_size) > 0, 0.0, NEGATIVE_INFINITY
        )
        is_forced = tf.logical_or(in_prompt, finished)
        log_probs = tf.where(is_forced[:, None], forced_log_probs, log_probs)
        candidates = tf.reshape(
            scores[:, None] + log_probs, [batch, num_beams * vocabulary_size]
        )
        scores, chosen = tf.math.top_k(candidates, k=num_beams)
        scores = tf.reshape(scores, [-1])
        parents = chosen // vocabulary_size
        new_tokens = tf.reshape(chosen % vocabulary_size, [-1])

        def reorder(tensor):
            shaped = tf.reshape(
                tensor, tf.concat([[batch, num_beams], tf.shape(tensor)[1:]],
                                  0)
            )
            return tf.reshape(tf.gather(shaped, parents, batch_dims=1),
                              tf.shape(tensor))

        tokens, lengths, finished, in_prompt, was_forced = (
            reorder(tokens), reorder(lengths), reorder(finished),
            reorder(in_prompt), reorder(is_forced),
        )
        cache = tf.nest.map_structure(reorder, cache)
        stopped = tf.reduce_any(
            new_tokens[:, None] == stop_token_ids[None], axis=-1
        )
        generating = tf.logical_not(was_forced)
        writes = tf.logical_and(generating, tf.logical_not(stopped))
        column = tf.where(writes | in_prompt, new_tokens, pad_id)
        tokens = write_at_position(tokens, column[:, None], index)
        lengths = tf.where(writes, index + 1, lengths)
        finished = finished | (generating & stopped) | (
            index + 1 >= end_index
        )
        if dropped is not None:
            scores = tf.where(dropped, NEGATIVE_INFINITY, scores)
            finished = finished | dropped
        return index + 1, tokens, lengths, scores, finished, cache

    _, tokens, lengths, scores, _, _ = loop_over_positions(
        step,
        (tf.reduce_min(prompt_lengths), tokens, lengths, scores, finished,
         cache),
        end_index,
        is_done=lambda state: state[4],
    )
    best = tf.argmax(tf.reshape(scores, [batch, num_beams]), axis=-1,
                     output_type="int32")
    pick = tf.range(batch) * num_beams + best
    if with_scores:
        return (tf.gather(tokens, pick), tf.gather(lengths, pick),
                tf.gather(scores, pick))
    return tf.gather(tokens, pick), tf.gather(lengths, pick)
