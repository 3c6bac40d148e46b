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
                pad_id=0, beams_per_row=None, with_scores=False,
                length_penalty=1.0):
    """The best continuation of each prompt found by a `num_beams`-wide
    beam search, as Hugging Face `transformers` searches (its default
    `early_stopping=False`), so that both give the same ids.

    Each step extends the running beams by every token and takes the
    `2 * num_beams` best extensions by total log-probability. Those among
    the first `num_beams` that end (a stop token, or the row's last
    position) become hypotheses, scored by their total log-probability
    divided by `generated_length ** length_penalty` (the stop token
    counted); a row keeps its `num_beams` best. The best extensions that
    do not end are the next running beams. A row stops once it holds
    `num_beams` hypotheses and its best running beam, scored at its
    current length, cannot beat the worst. The result is the best
    hypothesis, without its stop token; `length_penalty` > 0 favours
    longer ones, < 0 shorter ones, 0 compares summed log-probabilities.

    As in `decode`, prompts are right-padded and a row follows its own
    prompt until that ends (one live beam), so batching does not change
    any row's result. Arguments and results are those of
    `tfzoo.generation.decode`, with `max_new_tokens` `[batch]`. A
    `backbone` with `repeated(num_beams)` (a `ContextDecoder`) is repeated
    per beam after the prompt pass.

    `num_beams` may be a scalar tensor (in plain TensorFlow; XLA needs a
    constant). `beams_per_row` (int32 `[batch]`, each in `[1,
    num_beams]`) gives each row its own beam count `k`: the row's slots
    past `k` stay dead and only its first `k` extensions may end, so it
    gets what a `k`-wide search gives. With `with_scores`, also returns
    the best hypothesis's score (float32 `[batch]`, length-penalised as
    above). More than one stop token widens the extensions kept to
    `(1 + stops) * num_beams` when the stop ids' count is static.
    """
    batch = tf.shape(prompt_ids)[0]
    prompt_width = tf.shape(prompt_ids)[1]
    total_width = prompt_width + capacity
    stop_count = stop_token_ids.shape[0]
    candidates_per_beam = max(2, 1 + (stop_count or 1))
    kept = candidates_per_beam * num_beams

    def per_beam(tensor):  # [batch, ...] -> [batch * num_beams, ...]
        return tf.repeat(tensor, num_beams, axis=0)

    def by_row(tensor, width=num_beams):  # [batch * width, ...] -> [batch, width, ...]
        return tf.reshape(
            tensor, tf.concat([[batch, width], tf.shape(tensor)[1:]], 0))

    def flat(tensor):  # [batch, width, ...] -> [batch * width, ...]
        return tf.reshape(tensor, tf.concat([[-1], tf.shape(tensor)[2:]], 0))

    tokens = tf.pad(per_beam(prompt_ids), [[0, 0], [0, capacity]],
                    constant_values=pad_id)
    lengths = per_beam(prompt_lengths)
    row_prompt_lengths = prompt_lengths
    end_index = tf.minimum(prompt_lengths + max_new_tokens, total_width)
    cache = tf.nest.map_structure(
        per_beam, prefilled_cache(backbone, prompt_ids, total_width)
    )
    if hasattr(backbone, "repeated"):
        # A fixed context (an encoder-decoder's, see `ContextDecoder`):
        # repeated per beam once, never reordered (a row's beams share it).
        backbone = backbone.repeated(num_beams)
    beams = (tf.fill([batch], tf.cast(num_beams, "int32"))
             if beams_per_row is None else beams_per_row)
    # Slots past a row's count are dead from the start and stay so.
    dead = tf.range(num_beams)[None] >= beams[:, None]
    # Only the first beam of each row is alive at first.
    scores = tf.reshape(tf.where(
        (tf.range(num_beams)[None] > 0) | dead, NEGATIVE_INFINITY, 0.0), [-1])
    # The hypotheses: a row's `num_beams` best ended beams, best first.
    hypotheses = tf.fill([batch * num_beams, total_width], pad_id)
    hypothesis_lengths = lengths
    hypothesis_scores = tf.fill([batch, num_beams], float("-inf"))
    # Rows whose running beams may still beat their hypotheses.
    open_rows = end_index > prompt_lengths

    def step(state):
        (index, tokens, lengths, scores, cache, hypotheses,
         hypothesis_lengths, hypothesis_scores, open_rows) = state
        hidden, cache = previous_token_hidden(backbone, tokens, cache, index)
        log_probs = tf.nn.log_softmax(
            tf.cast(logits_of(hidden), "float32"), axis=-1
        )
        vocabulary_size = tf.shape(log_probs)[1]
        in_prompt = index < row_prompt_lengths  # [batch]
        # Rows still in their prompt take the prompt token at no cost.
        forced = tf.gather(tokens, index, axis=1)
        forced_log_probs = tf.where(
            tf.one_hot(forced, vocabulary_size) > 0, 0.0, NEGATIVE_INFINITY
        )
        log_probs = tf.where(per_beam(in_prompt)[:, None], forced_log_probs,
                             log_probs)
        totals = tf.reshape(
            scores[:, None] + log_probs, [batch, num_beams * vocabulary_size]
        )
        totals, chosen = tf.math.top_k(totals, k=kept)  # [batch, kept]
        parents = chosen // vocabulary_size
        new_tokens = chosen % vocabulary_size

        def from_parents(tensor):  # [batch * num_beams, ...] -> [batch, kept, ...]
            return tf.gather(by_row(tensor), parents, batch_dims=1)

        stopped = tf.reduce_any(
            new_tokens[..., None] == stop_token_ids[None, None], axis=-1)
        at_end = (index + 1 >= end_index)[:, None]
        generating = tf.logical_not(in_prompt)[:, None]
        ends = generating & (stopped | at_end)
        # Candidate sequences: the parent's tokens plus the new one (a
        # stop token is not written, and its length stays).
        writes = tf.logical_not(generating & stopped)
        column = tf.where(writes, new_tokens, pad_id)
        candidates = write_at_position(
            flat(from_parents(tokens)), tf.reshape(column, [-1, 1]), index)
        candidate_lengths = tf.where(
            tf.reshape(writes, [-1]), index + 1,
            flat(from_parents(lengths)))

        # Ended candidates among the row's first `beams` become hypotheses.
        generated = tf.cast(index + 1 - row_prompt_lengths, "float32")
        penalised = totals / tf.pow(tf.maximum(generated, 1.0),
                                    length_penalty)[:, None]
        may_end = (ends & (tf.range(kept)[None] < beams[:, None])
                   & open_rows[:, None] & (totals > NEGATIVE_INFINITY / 2))
        merged_scores = tf.concat(
            [hypothesis_scores,
             tf.where(may_end, penalised, float("-inf"))], axis=1)
        hypothesis_scores, best = tf.math.top_k(merged_scores, k=num_beams)
        merged = tf.concat([by_row(hypotheses), by_row(candidates, kept)],
                           axis=1)
        merged_lengths = tf.concat(
            [by_row(hypothesis_lengths), by_row(candidate_lengths, kept)],
            axis=1)
        hypotheses = flat(tf.gather(merged, best, batch_dims=1))
        hypothesis_lengths = flat(tf.gather(merged_lengths, best,
                                            batch_dims=1))

        # The best candidates that go on are the next running beams.
        going_on = tf.where(ends, NEGATIVE_INFINITY + totals, totals)
        running_scores, running = tf.math.top_k(going_on, k=num_beams)
        running_scores = tf.where(dead, NEGATIVE_INFINITY, running_scores)
        slots = tf.gather(parents, running, batch_dims=1)

        def reorder(tensor):
            return flat(tf.gather(by_row(tensor), slots, batch_dims=1))

        tokens = flat(tf.gather(by_row(candidates, kept), running,
                                batch_dims=1))
        lengths = flat(tf.gather(by_row(candidate_lengths, kept), running,
                                 batch_dims=1))
        cache = tf.nest.map_structure(reorder, cache)

        # A row stays open while it has room for more hypotheses, or its
        # best running beam, at its length so far, beats the worst.
        worst = tf.gather(hypothesis_scores, beams - 1, batch_dims=1)
        best_running = running_scores[:, 0] / tf.pow(
            tf.maximum(generated, 1.0), length_penalty)
        open_rows = open_rows & (
            in_prompt | tf.math.is_inf(worst) | (best_running > worst)
        ) & (index + 1 < end_index)
        return (index + 1, tokens, lengths, tf.reshape(running_scores, [-1]),
                cache, hypotheses, hypothesis_lengths, hypothesis_scores,
                open_rows)

    state = loop_over_positions(
        step,
        (tf.reduce_min(prompt_lengths), tokens, lengths, scores, cache,
         hypotheses, hypothesis_lengths, hypothesis_scores, open_rows),
        end_index,
        is_done=lambda state: tf.logical_not(state[8]),
    )
    hypotheses, hypothesis_lengths, hypothesis_scores = state[5:8]
    first = tf.range(batch) * num_beams
    # A row with no room for new tokens has no hypothesis: its prompt.
    found = tf.math.is_finite(hypothesis_scores[:, 0])
    token_ids = tf.where(
        found[:, None], tf.gather(hypotheses, first),
        tf.pad(prompt_ids, [[0, 0], [0, capacity]], constant_values=pad_id))
    result_lengths = tf.where(found, tf.gather(hypothesis_lengths, first),
                              prompt_lengths)
    if with_scores:
        return token_ids, result_lengths, tf.where(
            found, hypothesis_scores[:, 0], 0.0)
    return token_ids, result_lengths
