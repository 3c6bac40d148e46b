"""Checks on model inputs that turn TensorFlow failures into clear errors.

All checks run in Python at trace time (keys, static shapes), on eager or
numpy values, or inside `tf.data` (token id ranges), never inside the
XLA-compiled step.
"""

import keras
import numpy as np
import tensorflow as tf


def check_input_keys(model_name, inputs, expected_keys):
    """Raises if `inputs` is not a dict with exactly `expected_keys`."""
    expected = sorted(expected_keys)
    if not isinstance(inputs, dict):
        raise TypeError(
            f"{model_name} expects a dict with keys {expected}, got "
            f"{type(inputs).__name__}. Pass e.g. "
            f"{{{', '.join(repr(k) + ': ...' for k in expected)}}}."
        )
    missing = sorted(set(expected) - set(inputs))
    unexpected = sorted(set(inputs) - set(expected))
    if missing or unexpected:
        problems = []
        if missing:
            problems.append(f"missing {missing}")
        if unexpected:
            problems.append(f"unexpected {unexpected}")
        raise ValueError(
            f"{model_name} got input keys {sorted(inputs)}: "
            f"{' and '.join(problems)}. It expects exactly {expected}."
        )


def _static_length(tensor):
    shape = getattr(tensor, "shape", None)
    if shape is None or len(shape) < 2:
        return None
    return shape[1]


def check_sequence_length(model_name, token_ids, max_sequence_length):
    """Raises if the (static) sequence length exceeds the model's maximum."""
    length = _static_length(token_ids)
    if length is not None and length > max_sequence_length:
        raise ValueError(
            f"{model_name} got sequences of length {length}, longer than its "
            f"max_sequence_length={max_sequence_length}. Truncate or pack "
            f"inputs to at most {max_sequence_length} tokens, or build the "
            f"model with a larger max_sequence_length."
        )


def _concrete_values(tensor):
    """Returns a numpy array for numpy/eager values, else None."""
    if isinstance(tensor, np.ndarray):
        return tensor
    if isinstance(tensor, keras.KerasTensor):
        return None
    if tf.is_tensor(tensor) and hasattr(tensor, "numpy"):
        return tensor.numpy()
    return None


def check_token_ids(model_name, token_ids, vocabulary_size):
    """Raises if concrete `token_ids` hold an id outside the vocabulary."""
    values = _concrete_values(token_ids)
    if values is None or values.size == 0:
        return
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= vocabulary_size:
        bad = low if low < 0 else high
        raise ValueError(
            f"{model_name} got token id {bad}, outside its vocabulary "
            f"[0, {vocabulary_size}). Check that the tokenizer's vocabulary "
            f"matches the model's vocabulary_size."
        )


def assert_token_ids_in_graph(token_ids, vocabulary_size):
    """In-graph version of `check_token_ids`, for `tf.data` pipelines."""
    token_ids = tf.convert_to_tensor(token_ids)
    return [
        tf.debugging.assert_non_negative(
            token_ids, message="token_ids contains a negative id"
        ),
        tf.debugging.assert_less(
            token_ids,
            tf.cast(vocabulary_size, token_ids.dtype),
            message=(
                f"token_ids contains an id >= vocabulary_size "
                f"({vocabulary_size}); check that the tokenizer's vocabulary "
                f"matches the model"
            ),
        ),
    ]
