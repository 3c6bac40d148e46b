"""One vector per sequence from its token vectors: mean, first token or max."""

import keras
import tensorflow as tf

POOLING_MODES = ("mean", "cls", "max")


def check_pooling(pooling):
    if pooling not in POOLING_MODES:
        raise ValueError(
            f"pooling must be one of {list(POOLING_MODES)}, got {pooling!r}."
        )
    return pooling


@keras.saving.register_keras_serializable(package="tfzoo")
class SequencePooling(keras.layers.Layer):
    """Pools `[batch, length, dim]` token vectors to `[batch, dim]`.

    `mean` averages the real tokens (the padding mask's ones; the count is
    floored at 1e-9, as sentence-transformers does), `cls` takes the first
    token, `max` the largest value of each dimension over the real tokens.
    Pools in float32 and returns float32.

    Example:

    >>> import numpy as np
    >>> tokens = np.array([[[1., 2.], [3., 6.], [9., 9.]]], "float32")
    >>> mask = np.array([[1, 1, 0]])
    >>> SequencePooling("mean")(tokens, mask).numpy().tolist()
    [[2.0, 4.0]]
    >>> SequencePooling("max")(tokens, mask).numpy().tolist()
    [[3.0, 6.0]]
    >>> SequencePooling("cls")(tokens, mask).numpy().tolist()
    [[1.0, 2.0]]
    """

    def __init__(self, pooling="mean", **kwargs):
        super().__init__(**kwargs)
        self.pooling = check_pooling(pooling)

    def call(self, sequence, padding_mask):
        sequence = tf.cast(sequence, "float32")
        if self.pooling == "cls":
            return sequence[:, 0, :]
        real = tf.cast(padding_mask, "float32")[:, :, None]
        if self.pooling == "max":
            lowest = tf.cast(sequence.dtype.min, "float32")
            return tf.reduce_max(
                tf.where(real > 0, sequence, lowest), axis=1
            )
        total = tf.reduce_sum(sequence * real, axis=1)
        count = tf.maximum(tf.reduce_sum(real, axis=1), 1e-9)
        return total / count

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "pooling": self.pooling}
