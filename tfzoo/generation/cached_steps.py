"""The pieces every cached decode loop shares: prefill, step, and loop."""

import tensorflow as tf


def prefilled_cache(backbone, prompt_ids, total_width):
    """A key/value cache of `total_width` positions holding the prompts'.

    Args:
        backbone: a `GPTBackbone` (anything with `empty_cache` and
            `call_with_cache`).
        prompt_ids: int32 `[batch, prompt_width]`, right-padded.
        total_width: int, the positions the cache holds.
    """
    cache = backbone.empty_cache(tf.shape(prompt_ids)[0], total_width)
    if prompt_ids.shape[1] == 1:
        # One token a row (an encoder-decoder's start token): the loops
        # start at index 1 and their first step runs that token at
        # position 0 (`previous_token_hidden`), writing what a prefill
        # would. Skipping it saves a decoder pass.
        return cache
    _, cache = backbone.call_with_cache(prompt_ids, cache, 0)
    return cache


def previous_token_hidden(backbone, tokens, cache, index):
    """Runs each row's token at `index - 1` over the cache.

    Returns `(hidden [batch, hidden_dim], cache)`: the state that predicts
    the token at `index`, and the cache with that token's keys and values.
    """
    # A gather, not a slice: XLA mis-slices at a moving index.
    previous = tf.gather(tokens, [index - 1], axis=1)
    hidden, cache = backbone.call_with_cache(previous, cache, index - 1)
    return hidden[:, 0], cache


def loop_over_positions(step, state, end_index, is_done):
    """`tf.while_loop` of `step` over positions, one XLA-friendly loop.

    Args:
        step: `state -> state`; `state[0]` is the int32 position being
            written, and every step returns it plus one.
        state: the first state; every element keeps its shape.
        end_index: int32 `[batch]`; the loop stops once the position
            reaches the largest.
        is_done: `state -> bool [batch]`; the loop also stops once every
            row is done.
    """
    def keep_going(*state):
        return tf.logical_and(state[0] < tf.reduce_max(end_index),
                              tf.logical_not(tf.reduce_all(is_done(state))))

    return tf.while_loop(
        keep_going,
        lambda *state: step(state),
        state,
        shape_invariants=tf.nest.map_structure(lambda t: t.shape, state),
        maximum_iterations=tf.reduce_max(end_index),
    )
