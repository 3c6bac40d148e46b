"""The SwiGLU feed-forward network of modern decoders."""

import keras
import tensorflow as tf

from tfzoo.layers.dropout import Dropout


@keras.saving.register_keras_serializable(package="tfzoo")
class GatedFeedForward(keras.layers.Layer):
    """`output(activation(gate(x)) * up(x))`, SwiGLU with "silu".

    The gate and up projections share one kernel `[hidden, 2,
    intermediate_dim]`, so a single matmul computes both. The output size
    equals the input size. `dropout` drops the gated activations in
    training (T5 v1.1 does).

    Example:

    >>> import tensorflow as tf
    >>> layer = GatedFeedForward(intermediate_dim=32)
    >>> layer(tf.zeros((2, 5, 8))).shape
    TensorShape([2, 5, 8])
    """

    def __init__(
        self,
        intermediate_dim,
        activation="silu",
        use_bias=False,
        kernel_initializer="glorot_uniform",
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

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        self.gate_up_kernel = self.add_weight(
            name="gate_up_kernel",
            shape=(hidden_dim, 2, self.intermediate_dim),
            initializer=self.kernel_initializer,
        )
        self.output_kernel = self.add_weight(
            name="output_kernel",
            shape=(self.intermediate_dim, hidden_dim),
            initializer=self.kernel_initializer,
        )
        if self.use_bias:
            self.gate_up_bias = self.add_weight(
                name="gate_up_bias",
                shape=(2, self.intermediate_dim),
                initializer="zeros",
            )
            self.output_bias = self.add_weight(
                name="output_bias", shape=(hidden_dim,), initializer="zeros"
            )
        self.built = True

    def call(self, inputs, training=None):
        hidden_dim = inputs.shape[-1]
        kernel = tf.reshape(self.gate_up_kernel, [hidden_dim, -1])
        gate_up = tf.matmul(tf.reshape(inputs, [-1, hidden_dim]), kernel)
        if self.use_bias:
            gate_up += tf.reshape(self.gate_up_bias, [-1])
        gate, up = tf.split(gate_up, 2, axis=-1)
        gated = self.dropout_layer(self.activation(gate) * up,
                                   training=training)
        output = tf.matmul(gated, self.output_kernel)
        if self.use_bias:
            output += self.output_bias
        return tf.reshape(
            output, tf.concat([tf.shape(inputs)[:-1], [hidden_dim]], 0)
        )

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
