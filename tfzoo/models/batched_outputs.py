"""Signature outputs as numpy, for the in-process prediction methods."""

import numpy as np

_decode = np.vectorize(lambda value: value.decode("utf-8"), otypes=[object])


def to_numpy(outputs):
    """A dict of tensors to numpy arrays, strings decoded to `str`."""
    arrays = {}
    for name, tensor in outputs.items():
        array = tensor.numpy()
        if array.dtype == object:
            array = _decode(array)
        arrays[name] = array
    return arrays


def concatenate_batches(batches, padding):
    """Joins dicts of numpy outputs along the batch axis.

    Outputs named in `padding` are `[batch, n]`, with n varying between
    batches: each is padded on the right with its padding value first.

    >>> batches = [{"ids": np.array([[1, 2]])}, {"ids": np.array([[3]])}]
    >>> concatenate_batches(batches, {"ids": -1})["ids"].tolist()
    [[1, 2], [3, -1]]
    """
    joined = {}
    for name in batches[0]:
        arrays = [batch[name] for batch in batches]
        if name in padding:
            width = max(array.shape[1] for array in arrays)
            arrays = [
                np.pad(array, [(0, 0), (0, width - array.shape[1])],
                       constant_values=padding[name])
                for array in arrays
            ]
        joined[name] = np.concatenate(arrays)
    return joined
