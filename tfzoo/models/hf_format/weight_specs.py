"""How one Keras variable maps to one or more Hugging Face tensors.

A `WeightSpec` names the checkpoint tensors that make up a variable, the
shapes they must have, and the two conversions: checkpoint arrays to the
variable's value, and back. The helpers below cover the layouts the
converters need: copies, PyTorch `Linear` kernels (stored transposed),
and separate query/key/value projections fused into one kernel.

Example:

>>> import keras, numpy as np
>>> dense = keras.layers.Dense(3)
>>> dense.build((None, 2))
>>> spec = linear_kernel(dense.kernel, "fc.weight")
>>> spec.hf_shapes
((3, 2),)
>>> hf_weight = np.arange(6, dtype="float32").reshape(3, 2)
>>> spec.to_keras([hf_weight]).tolist()
[[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]
>>> np.array_equal(spec.to_hf(spec.to_keras([hf_weight]))[0], hf_weight)
True
"""

import dataclasses
from typing import Callable

import numpy as np


@dataclasses.dataclass
class WeightSpec:
    """A Keras variable and the checkpoint tensors it is made of."""

    variable: object
    hf_names: tuple
    hf_shapes: tuple
    to_keras: Callable  # list of checkpoint arrays -> variable value
    to_hf: Callable  # variable value -> list of checkpoint arrays

    @property
    def shape(self):
        return tuple(self.variable.shape)


def copy(variable, name):
    """A tensor stored with the variable's own shape."""
    return WeightSpec(
        variable, (name,), (tuple(variable.shape),),
        lambda arrays: arrays[0], lambda value: [value],
    )


def linear_kernel(variable, name):
    """A Keras `[in, out]` kernel stored as PyTorch `Linear` `[out, in]`."""
    rows, columns = variable.shape
    return WeightSpec(
        variable, (name,), ((columns, rows),),
        lambda arrays: arrays[0].T, lambda value: [value.T],
    )


def dense(layer, prefix):
    """A Keras `Dense` layer from `{prefix}.weight` / `{prefix}.bias`."""
    return [
        linear_kernel(layer.kernel, f"{prefix}.weight"),
        copy(layer.bias, f"{prefix}.bias"),
    ]


def layer_norm(layer, prefix):
    """A Keras `LayerNormalization` from `{prefix}.weight` / `.bias`."""
    return [
        copy(layer.gamma, f"{prefix}.weight"),
        copy(layer.beta, f"{prefix}.bias"),
    ]


def fused_qkv_kernel(variable, names, widths):
    """`Attention`'s `[hidden, q + k + v]` kernel from separate PyTorch
    `Linear` weights `[width, hidden]`, one per name; `widths` are the
    query, key and value widths (key and value narrower under grouped-query
    attention)."""
    hidden = variable.shape[0]

    def to_keras(arrays):
        return np.concatenate([a.T for a in arrays], axis=1)

    def to_hf(value):
        pieces = np.split(value, np.cumsum(widths)[:-1], axis=1)
        return [piece.T for piece in pieces]

    return WeightSpec(
        variable, tuple(names), tuple((w, hidden) for w in widths),
        to_keras, to_hf,
    )


def fused_qkv_bias(variable, names, widths):
    """`Attention`'s `[q + k + v]` bias from separate biases."""
    return WeightSpec(
        variable, tuple(names), tuple((w,) for w in widths),
        lambda arrays: np.concatenate(arrays),
        lambda value: np.split(value, np.cumsum(widths)[:-1]),
    )


def stacked_linear_kernels(variable, names):
    """A `[in, n, out]` kernel (e.g. a gated feed-forward's gate and up
    projections) from n PyTorch `Linear` weights `[out, in]`."""
    inputs, count, outputs = variable.shape
    if count != len(names):
        raise ValueError(
            f"{variable.path} stacks {count} kernels; got names {names}."
        )
    return WeightSpec(
        variable, tuple(names), ((outputs, inputs),) * count,
        lambda arrays: np.stack([a.T for a in arrays], axis=1),
        lambda value: [value[:, i, :].T for i in range(count)],
    )
