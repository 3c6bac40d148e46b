"""Start and end logits for extractive question answering."""

import keras
import tensorflow as tf

from tfzoo.layers.attention import MASKED_SCORE


@keras.saving.register_keras_serializable(package="tfzoo")
class SpanHead(keras.layers.Layer):
    """Scores every position as the start and the end of an answer span.

    Returns `(start_logits, end_logits)`, each float32 `[batch, length]`,
    with padded positions pushed to a very low score.

    Example:

    >>> import numpy as np
    >>> head = SpanHead()
    >>> start, end = head(np.zeros((2, 6, 8), "float32"), np.ones((2, 6)))
    >>> start.shape, end.shape
    (TensorShape([2, 6]), TensorShape([2, 6]))
    """

    def __init__(self, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.dense = keras.layers.Dense(
            2,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="span_logits",
        )

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.built = True

    def call(self, sequence_output, padding_mask):
        logits = tf.cast(self.dense(sequence_output), "float32")
        real = tf.cast(padding_mask, "bool")
        start_logits = tf.where(real, logits[..., 0], MASKED_SCORE)
        end_logits = tf.where(real, logits[..., 1], MASKED_SCORE)
        return start_logits, end_logits

    def get_config(self):
        config = super().get_config()
        config["kernel_initializer"] = keras.initializers.serialize(
            self.kernel_initializer
        )
        return config
