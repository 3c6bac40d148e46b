"""Learned absolute position embeddings."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfzoo")
class PositionEmbedding(keras.layers.Layer):
    """A learned embedding for each position up to `sequence_length`.

    Takes `[batch, length, dim]` inputs and returns position embeddings of
    the same shape for positions `start_index .. start_index + length - 1`.

    Example:

    >>> import tensorflow as tf
    >>> layer = PositionEmbedding(sequence_length=16)
    >>> layer(tf.zeros((2, 10, 8))).shape
    TensorShape([2, 10, 8])
    """

    def __init__(
        self, sequence_length, initializer="glorot_uniform", **kwargs
    ):
        super().__init__(**kwargs)
        if sequence_length < 1:
            raise ValueError(
                f"sequence_length must be positive, got {sequence_length}."
            )
        self.sequence_length = sequence_length
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        self.position_embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, input_shape[-1]),
            initializer=self.initializer,
        )
        self.built = True

    def call(self, inputs, start_index=0):
        length = tf.shape(inputs)[1]
        positions = tf.slice(
            tf.convert_to_tensor(self.position_embeddings),
            [start_index, 0],
            [length, -1],
        )
        return tf.broadcast_to(
            tf.cast(positions, self.compute_dtype), tf.shape(inputs)
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
