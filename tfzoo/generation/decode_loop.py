"""The cached decode loop: one `tf.while_loop`, XLA-compilable."""

import tensorflow as tf

from tfzoo.generation.cached_steps import (
    loop_over_positions,
    prefilled_cache,
    previous_token_hidden,
)
from tfzoo.generation.sampling import choose_next_tokens
from tfzoo.layers.cache_update import write_at_position


def decode(backbone, logits_of, prompt_ids, prompt_lengths, max_new_tokens,
           capacity, options, stop_token_ids, pad_id=0):
    """Extends each prompt by up to `max_new_tokens` tokens.

    Prompts are right-padded. A first pass over the whole padded prompt
    fills the key/value cache; then each loop step feeds one token per row
    and writes one new token per row. The loop starts at the shortest
    prompt's end: rows whose prompt is longer keep their own prompt tokens
    until they reach its end, so every row gets exactly what it would get
    decoded alone (causal attention never looks at the padding that a
    row's own tokens later overwrite).

    Args:
        backbone: a `GPTBackbone` (anything with `empty_cache` and
            `call_with_cache`).
        logits_of: maps hidden states `[batch, hidden]` to logits.
        prompt_ids: int32 `[batch, prompt_width]`, right-padded.
        prompt_lengths: int32 `[batch]`, each at least 1.
        max_new_tokens: int32 `[batch]`, new tokens allowed per row.
        capacity: static int, room for new tokens after `prompt_width`.
        options: `SamplingOptions` for choosing each token.
        stop_token_ids: int32 `[num_stop]`; a row ends after one of them
            (which is not part of its output).
        pad_id: fills positions after each row's end.

    Returns:
        `(token_ids, lengths)`: int32 `[batch, prompt_width + capacity]`,
        prompt then generated tokens then `pad_id`, and each row's total
        length.
    """
    total_width = tf.shape(prompt_ids)[1] + capacity
    tokens = tf.pad(prompt_ids, [[0, 0], [0, capacity]],
                    constant_values=pad_id)
    cache = prefilled_cache(backbone, prompt_ids, total_width)
    end_index = tf.minimum(prompt_lengths + max_new_tokens, total_width)

    def step(state):
        index, tokens, lengths, done, cache = state
        hidden, cache = previous_token_hidden(backbone, tokens, cache, index)
        next_tokens = choose_next_tokens(logits_of(hidden), options, index)
        generating = tf.logical_and(index >= prompt_lengths,
                                    tf.logical_not(done))
        stopped = tf.reduce_any(
            next_tokens[:, None] == stop_token_ids[None], axis=-1
        )
        writes = tf.logical_and(generating, tf.logical_not(stopped))
        column = tf.where(writes, next_tokens, tf.gather(tokens, index, axis=1))
        column = tf.where(
            tf.logical_and(generating, stopped), pad_id, column
        )
        tokens = write_at_position(tokens, column[:, None], index)
        lengths = tf.where(writes, index + 1, lengths)
        done = tf.logical_or(done, tf.logical_and(generating, stopped))
        done = tf.logical_or(done, index + 1 >= end_index)
        return index + 1, tokens, lengths, done, cache

    _, tokens, lengths, _, _ = loop_over_positions(
        step,
        (tf.reduce_min(prompt_lengths), tokens, prompt_lengths,
         prompt_lengths >= end_index, cache),
        end_index,
        is_done=lambda state: state[3],
    )
    return tokens, lengths
