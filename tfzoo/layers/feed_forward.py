"""The position-wise feed-forward network of a Transformer block."""

import keras

from tfzoo.layers.dropout import Dropout


@keras.saving.register_keras_serializable(package="tfzoo")
class FeedForward(keras.layers.Layer):
    """`Dense(intermediate_dim, activation)` then `Dense(hidden)`.

    The output size equals the input size. `use_bias=False` drops both
    biases (T5). `dropout` drops intermediate activations in training
    (T5 does, after the activation).

    Example:

    >>> import tensorflow as tf
    >>> layer = FeedForward(intermediate_dim=32)
    >>> layer(tf.zeros((2, 5, 8))).shape
    TensorShape([2, 5, 8])
    """

    def __init__(
        self,
        intermediate_dim,
        activation="gelu",
        kernel_initializer="glorot_uniform",
        use_bias=True,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = intermediate_dim
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.dropout = dropout
        self.dropout_layer = Dropout(dropout, dtype=self.dtype_policy,
                                     name="dropout")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.intermediate = keras.layers.Dense(
            intermediate_dim,
            activation=self.activation,
            kernel_initializer=self.kernel_initializer,
            use_bias=use_bias,
            dtype=self.dtype_policy,
            name="intermediate",
        )
        self.output_dense = None

    def build(self, input_shape):
        self.output_dense = keras.layers.Dense(
            input_shape[-1],
            kernel_initializer=self.kernel_initializer,
            use_bias=self.use_bias,
            dtype=self.dtype_policy,
            name="output",
        )
        self.intermediate.build(input_shape)
        self.output_dense.build(
            tuple(input_shape[:-1]) + (self.intermediate_dim,)
        )
        self.built = True

    def call(self, inputs, training=None):
        hidden = self.dropout_layer(self.intermediate(inputs),
                                    training=training)
        return self.output_dense(hidden)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
