"""The masked-language-model head, tied to the token embedding."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfzoo")
class MaskedLMHead(keras.layers.Layer):
    """Predicts the tokens at `mask_positions` from a sequence output.

    Gathers the hidden states at the masked positions, applies
    `Dense(hidden, activation)` and LayerNorm as BERT does, then projects to
    the vocabulary with the transposed token embedding plus a bias.

    Args:
        token_embedding: the `keras.layers.Embedding` whose weights are the
            output projection. Not serialized: the owning task passes it.
        activation: activation of the transform layer.

    Example:

    >>> import numpy as np
    >>> import keras
    >>> embedding = keras.layers.Embedding(50, 16)
    >>> embedding.build((None,))
    >>> head = MaskedLMHead(token_embedding=embedding)
    >>> sequence = np.zeros((2, 10, 16), "float32")
    >>> positions = np.array([[1, 4], [2, 3]])
    >>> head(sequence, mask_positions=positions).shape
    TensorShape([2, 2, 50])
    """

    def __init__(
        self,
        token_embedding=None,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.token_embedding = token_embedding
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        if self.token_embedding is None:
            raise ValueError(
                "MaskedLMHead needs token_embedding, the Embedding layer whose "
                "weights it reuses for the output projection."
            )
        hidden_dim = input_shape[-1]
        self.transform = keras.layers.Dense(
            hidden_dim,
            activation=self.activation,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="transform",
        )
        self.transform.build(input_shape)
        self.norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy,
            name="norm",
        )
        self.norm.build(input_shape)
        self.output_bias = self.add_weight(
            name="output_bias",
            shape=(self.token_embedding.input_dim,),
            initializer="zeros",
        )
        self.built = True

    def call(self, sequence_output, mask_positions):
        mask_positions = tf.cast(mask_positions, "int32")
        hidden = tf.gather(sequence_output, mask_positions, batch_dims=1)
        hidden = self.norm(self.transform(hidden))
        embeddings = tf.cast(
            self.token_embedding.embeddings, self.compute_dtype
        )
        logits = tf.einsum("bmd,vd->bmv", hidden, embeddings)
        return logits + tf.cast(self.output_bias, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "activation": keras.activations.serialize(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
