"""A bidirectional Transformer encoder block (BERT-style)."""

import keras
import tensorflow as tf

from tfzoo.layers.dropout import Dropout
from tfzoo.layers.feed_forward import FeedForward
from tfzoo.layers.multi_head_attention import MultiHeadAttention


def check_heads_divide_hidden(hidden_dim, num_heads):
    """Raises a ValueError naming both numbers when heads do not divide."""
    if hidden_dim % num_heads:
        raise ValueError(
            f"hidden_dim ({hidden_dim}) must be divisible by num_heads "
            f"({num_heads}); pick e.g. num_heads="
            f"{max(h for h in range(1, num_heads + 1) if hidden_dim % h == 0)}"
            "."
        )


@keras.saving.register_keras_serializable(package="tfzoo")
class TransformerEncoderBlock(keras.layers.Layer):
    """Self-attention and a feed-forward network, each with a residual.

    Post-LayerNorm as in BERT by default (`x = norm(x + sublayer(x))`);
    `normalize_first=True` gives pre-LayerNorm (`x = x + sublayer(norm(x))`).
    LayerNorm always computes in float32.

    Call arguments:
        inputs: `[batch, length, hidden]`.
        padding_mask: optional `[batch, length]`, true at real tokens.
        attention_mask: optional `[batch, length, length]`.
        first_token_only: compute the output for position 0 only (keys and
            values still use every position). Returns `[batch, 1, hidden]`.
            A classifier needs nothing else from the last block.

    Example:

    >>> import tensorflow as tf
    >>> block = TransformerEncoderBlock(num_heads=2, intermediate_dim=32)
    >>> block(tf.zeros((2, 5, 16))).shape
    TensorShape([2, 5, 16])
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        activation="gelu",
        dropout=0.1,
        attention_dropout=None,
        layer_norm_epsilon=1e-12,
        normalize_first=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.activation = keras.activations.get(activation)
        self.dropout = dropout
        self.attention_dropout = (
            dropout if attention_dropout is None else attention_dropout
        )
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        check_heads_divide_hidden(hidden_dim, self.num_heads)
        policy = self.dtype_policy
        self.attention = MultiHeadAttention(
            self.num_heads,
            hidden_dim // self.num_heads,
            dropout=self.attention_dropout,
            kernel_initializer=self.kernel_initializer,
            dtype=policy,
            name="attention",
        )
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="attention_norm"
        )
        self.feed_forward = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            kernel_initializer=self.kernel_initializer,
            dtype=policy,
            name="feed_forward",
        )
        self.feed_forward_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=policy,
            name="feed_forward_norm",
        )
        self.attention_dropout_layer = Dropout(
            self.dropout, dtype=policy
        )
        self.feed_forward_dropout_layer = Dropout(
            self.dropout, dtype=policy
        )
        for layer in (
            self.attention,
            self.attention_norm,
            self.feed_forward,
            self.feed_forward_norm,
        ):
            layer.build(input_shape)
        self.built = True

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        first_token_only=False,
        training=None,
    ):
        mask = attention_mask
        if padding_mask is not None:
            keys_mask = tf.cast(padding_mask, "bool")[:, None, :]
            mask = (
                keys_mask
                if mask is None
                else tf.logical_and(tf.cast(mask, "bool"), keys_mask)
            )
        if first_token_only and mask is not None:
            mask = mask[:, :1]

        def attend(x):
            if first_token_only:
                return self.attention(
                    x[:, :1], value=x, attention_mask=mask, training=training
                )
            return self.attention(x, attention_mask=mask, training=training)

        residual = inputs[:, :1] if first_token_only else inputs
        if self.normalize_first:
            x = attend(self.attention_norm(inputs))
            x = residual + self.attention_dropout_layer(x, training=training)
            y = self.feed_forward(self.feed_forward_norm(x))
            return x + self.feed_forward_dropout_layer(y, training=training)

        x = attend(inputs)
        x = self.attention_norm(
            residual + self.attention_dropout_layer(x, training=training)
        )
        y = self.feed_forward(x)
        return self.feed_forward_norm(
            x + self.feed_forward_dropout_layer(y, training=training)
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "activation": keras.activations.serialize(self.activation),
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "normalize_first": self.normalize_first,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
