"""A causal Transformer decoder block with a key/value cache."""

import keras
import tensorflow as tf

from tfzoo.layers.dropout import Dropout
from tfzoo.layers.feed_forward import FeedForward
from tfzoo.layers.multi_head_attention import MultiHeadAttention
from tfzoo.layers.transformer_encoder_block import check_heads_divide_hidden


@keras.saving.register_keras_serializable(package="tfzoo")
class TransformerDecoderBlock(keras.layers.Layer):
    """Causal self-attention, optional cross-attention, and a feed-forward.

    Pre-LayerNorm by default (GPT-2, T5); `normalize_first=False` gives
    post-LayerNorm as in the original Transformer. LayerNorm computes in
    float32.

    Call arguments:
        inputs: `[batch, length, hidden]`.
        padding_mask: optional `[batch, key_length]`, true at real tokens.
            `key_length` is `length`, or the cache length when decoding.
        encoder_sequence: `[batch, source_length, hidden]`, needed when
            `use_cross_attention=True`.
        encoder_padding_mask: optional `[batch, source_length]`.
        cache: optional `[batch, 2, num_heads, max_length, head_dim]`
            self-attention keys and values; `inputs` are then the positions
            starting at `cache_update_index`.
        cache_update_index: int scalar, the position of `inputs[:, 0]`.

    Returns the block output, or `(output, cache)` when a cache is given.

    Example:

    >>> import tensorflow as tf
    >>> block = TransformerDecoderBlock(num_heads=2, intermediate_dim=32)
    >>> block(tf.zeros((2, 5, 16))).shape
    TensorShape([2, 5, 16])
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        use_cross_attention=False,
        activation="gelu",
        dropout=0.1,
        attention_dropout=None,
        layer_norm_epsilon=1e-5,
        normalize_first=True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.use_cross_attention = use_cross_attention
        self.activation = keras.activations.get(activation)
        self.dropout = dropout
        self.attention_dropout = (
            dropout if attention_dropout is None else attention_dropout
        )
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _norm(self, name):
        return keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )

    def _attention(self, head_dim, name):
        return MultiHeadAttention(
            self.num_heads,
            head_dim,
            dropout=self.attention_dropout,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        check_heads_divide_hidden(hidden_dim, self.num_heads)
        head_dim = hidden_dim // self.num_heads
        self.self_attention = self._attention(head_dim, "self_attention")
        self.self_attention_norm = self._norm("self_attention_norm")
        sublayers = [self.self_attention, self.self_attention_norm]
        self.cross_attention = None
        if self.use_cross_attention:
            self.cross_attention = self._attention(head_dim, "cross_attention")
            self.cross_attention_norm = self._norm("cross_attention_norm")
            sublayers += [self.cross_attention, self.cross_attention_norm]
        self.feed_forward = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="feed_forward",
        )
        self.feed_forward_norm = self._norm("feed_forward_norm")
        sublayers += [self.feed_forward, self.feed_forward_norm]
        for layer in sublayers:
            layer.build(input_shape)
        self.dropout_layer = Dropout(
            self.dropout, dtype=self.dtype_policy
        )
        self.built = True

    def _residual(self, x, sublayer, norm, training):
        """Applies `sublayer` with a residual in pre- or post-norm order."""
        if self.normalize_first:
            return x + self.dropout_layer(sublayer(norm(x)), training=training)
        return norm(x + self.dropout_layer(sublayer(x), training=training))

    def call(
        self,
        inputs,
        padding_mask=None,
        encoder_sequence=None,
        encoder_padding_mask=None,
        cache=None,
        cache_update_index=None,
        training=None,
    ):
        if self.use_cross_attention and encoder_sequence is None:
            raise ValueError(
                "This decoder block was built with use_cross_attention=True; "
                "pass encoder_sequence."
            )
        if cache is not None and cache_update_index is None:
            raise ValueError("Pass cache_update_index together with cache.")
        new_cache = []

        def self_attend(x):
            result = self.self_attention(
                x,
                attention_mask=padding_mask,
                use_causal_mask=True,
                cache=cache,
                cache_update_index=cache_update_index,
                training=training,
            )
            if cache is None:
                return result
            output, updated = result
            new_cache.append(updated)
            return output

        x = self._residual(
            inputs, self_attend, self.self_attention_norm, training
        )
        if self.use_cross_attention:
            source_mask = None
            if encoder_padding_mask is not None:
                source_mask = tf.cast(encoder_padding_mask, "bool")[:, None]

            def cross_attend(y):
                return self.cross_attention(
                    y,
                    value=encoder_sequence,
                    attention_mask=source_mask,
                    training=training,
                )

            x = self._residual(
                x, cross_attend, self.cross_attention_norm, training
            )
        x = self._residual(
            x, self.feed_forward, self.feed_forward_norm, training
        )
        if cache is not None:
            return x, new_cache[0]
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "use_cross_attention": self.use_cross_attention,
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
