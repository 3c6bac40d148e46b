"""Dropout with a cheap random-number generator for XLA on CPU."""

import keras
import tensorflow as tf

# Drop decisions use 16 random bits each, two from every 32-bit Philox
# output, so the rate is exact to 1/65536.
RESOLUTION = 1 << 16


@keras.saving.register_keras_serializable(package="tfzoo")
class Dropout(keras.layers.Layer):
    """Zeroes a fraction `rate` of the inputs in training and rescales.

    Same behaviour as `keras.layers.Dropout`, but draws its random bits
    with Philox, two decisions per 32-bit number. Keras' dropout uses the
    default stateless algorithm, which XLA on CPU runs many times slower.

    Example:

    >>> import numpy as np
    >>> layer = Dropout(0.5, seed=1)
    >>> out = layer(np.ones((1000,), "float32"), training=True).numpy()
    >>> sorted(set(out.tolist())), bool(400 < (out == 0).sum() < 600)
    ([0.0, 2.0], True)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}.")
        self.rate = rate
        self.seed = seed
        self.threshold = round(rate * RESOLUTION)
        self.seed_generator = (
            keras.random.SeedGenerator(seed) if self.threshold else None
        )
        self.built = True

    def call(self, inputs, training=False):
        if not training or not self.threshold:
            return inputs
        seed = tf.cast(self.seed_generator.next(), "int64")
        size = tf.size(inputs)
        bits = tf.random.stateless_uniform(
            [(size + 1) // 2],
            seed,
            dtype="uint32",
            minval=None,
            maxval=None,
            alg="philox",
        )
        halves = tf.reshape(tf.bitcast(bits, "uint16"), [-1])[:size]
        keep = tf.reshape(halves >= self.threshold, tf.shape(inputs))
        keep_fraction = 1.0 - self.threshold / RESOLUTION
        scaled = inputs / tf.cast(keep_fraction, inputs.dtype)
        return tf.where(keep, scaled, tf.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
