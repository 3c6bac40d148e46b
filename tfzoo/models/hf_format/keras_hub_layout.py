"""keras-hub's weight layouts, as `[in, out]` matrices.

keras-hub's attention is Keras `MultiHeadAttention`: its query, key and
value `EinsumDense` kernels are `[hidden, heads, head_dim]` (biases
`[heads, head_dim]`) and its output kernel `[heads, head_dim, hidden]`.
Flattened, they are the `[in, out]` kernels of a plain dense layer; the
family modules (`keras_hub_bert`, `keras_hub_gpt2`) turn those into the
Hugging Face tensors of their checkpoint format.

Example:

>>> import numpy as np
>>> arrays = {"a/query/kernel": np.zeros((8, 2, 4)),
...           "a/query/bias": np.zeros((2, 4))}
>>> [x.shape for x in projection(arrays, "a/query")]
[(8, 8), (8,)]
"""


def projection(arrays, prefix):
    """A query, key or value projection: `[hidden, width]` kernel and
    `[width]` bias."""
    kernel = arrays[f"{prefix}/kernel"]
    bias = arrays[f"{prefix}/bias"]
    return kernel.reshape(kernel.shape[0], -1), bias.reshape(-1)


def output_projection(arrays, prefix):
    """The attention output projection: `[width, hidden]` kernel and
    `[hidden]` bias."""
    kernel = arrays[f"{prefix}/kernel"]
    return kernel.reshape(-1, kernel.shape[-1]), arrays[f"{prefix}/bias"]


def pair(arrays, prefix, first="kernel", second="bias"):
    """A layer's two variables (a dense kernel and bias, a LayerNorm's
    gamma and beta)."""
    return arrays[f"{prefix}/{first}"], arrays[f"{prefix}/{second}"]


def linear(name, kernel, bias):
    """An `[in, out]` kernel and bias as PyTorch `Linear` tensors
    (`{name}.weight` `[out, in]`, `{name}.bias`)."""
    return {f"{name}.weight": kernel.T, f"{name}.bias": bias}


def weight_and_bias(name, weight, bias):
    """Tensors stored as they are: a LayerNorm's gamma and beta, or a
    GPT-2 `Conv1D` `[in, out]` kernel and bias."""
    return {f"{name}.weight": weight, f"{name}.bias": bias}
