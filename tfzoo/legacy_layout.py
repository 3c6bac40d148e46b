"""Reading values saved in an older variable layout.

Before tfzoo had one attention layer, BERT's attention kept its QKV kernel
as `[hidden, 3, heads, head_dim]` (bias `[3, heads, head_dim]`) and its
output kernel as `[heads, head_dim, hidden]`; the one `Attention` layer
keeps the same numbers, in the same order, as `[hidden, 3 * heads *
head_dim]`, `[3 * heads * head_dim]` and `[heads * head_dim, hidden]`.
`.keras` files (weights and optimizer moments) and step checkpoints
written then still load: a saved value takes the variable's shape when
only the grouping of its axes differs.
"""

import math

import numpy as np


def in_shape(value, shape):
    """`value` reshaped to `shape` when it has as many elements, else as is.

    >>> in_shape(np.zeros((4, 3, 2, 2)), (4, 12)).shape
    (4, 12)
    >>> in_shape(np.zeros((4, 3)), (4, 2)).shape  # a real mismatch stays
    (4, 3)
    """
    shape = tuple(int(dimension) for dimension in shape)
    if tuple(value.shape) != shape and math.prod(value.shape) == math.prod(
            shape):
        return np.asarray(value[...]).reshape(shape)
    return value


def reshaped_store(store, variables):
    """A Keras `load_own_variables` store with each value in the shape of
    the variable it loads into (`variables` in saving order)."""
    if len(store.keys()) != len(variables):
        return store  # Keras then names the mismatch
    return {
        key: in_shape(store[key], variable.shape)
        for key, variable in zip(sorted(store.keys(), key=int), variables)
    }
