"""Fixed sinusoidal position embeddings."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfzoo")
class SinusoidalPositionEmbedding(keras.layers.Layer):
    """The sine/cosine position encoding of "Attention Is All You Need".

    Has no weights. Takes `[batch, length, dim]` inputs (`dim` even) and
    returns encodings of the same shape for positions starting at
    `start_index`: sines in the first half of the features, cosines in the
    second half.

    Example:

    >>> import tensorflow as tf
    >>> layer = SinusoidalPositionEmbedding()
    >>> layer(tf.zeros((2, 10, 8))).shape
    TensorShape([2, 10, 8])
    """

    def __init__(self, max_wavelength=10000, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = max_wavelength

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] % 2:
            raise ValueError(
                "SinusoidalPositionEmbedding needs an even feature size, got "
                f"{input_shape[-1]}."
            )
        self.built = True

    def call(self, inputs, start_index=0):
        length = tf.shape(inputs)[1]
        dim = inputs.shape[-1]
        positions = tf.cast(tf.range(length) + start_index, "float32")
        frequencies = 1.0 / tf.pow(
            float(self.max_wavelength),
            tf.range(dim // 2, dtype="float32") / (dim // 2),
        )
        angles = positions[:, None] * frequencies[None, :]
        encoding = tf.concat([tf.sin(angles), tf.cos(angles)], axis=-1)
        return tf.broadcast_to(
            tf.cast(encoding, self.compute_dtype), tf.shape(inputs)
        )

    def get_config(self):
        config = super().get_config()
        config["max_wavelength"] = self.max_wavelength
        return config
