"""The Transformer block: attention, optional cross-attention, feed-forward.

The one block of tfzoo: BERT's post-norm encoder block, GPT-2's and modern
decoders' pre-norm blocks (LayerNorm or RMSNorm, MLP or gated feed-forward,
rotary, grouped-query attention), and an encoder-decoder's decoder block
(causal self-attention, cross-attention, feed-forward).
"""

import keras

from tfzoo.layers.activations import get_activation
from tfzoo.layers.attention import Attention
from tfzoo.layers.dropout import Dropout
from tfzoo.layers.feed_forward import FeedForward
from tfzoo.layers.gated_feed_forward import GatedFeedForward
from tfzoo.layers.rms_normalization import RMSNormalization

NORMALIZATIONS = ("layer_norm", "rms_norm")
FEED_FORWARDS = ("mlp", "gated")


def normalization_layer(kind, epsilon, dtype, name):
    """A LayerNormalization or RMSNormalization layer.

    >>> normalization_layer("rms_norm", 1e-6, None, "norm").name
    'norm'
    """
    if kind not in NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {NORMALIZATIONS}, got {kind!r}."
        )
    if kind == "rms_norm":
        return RMSNormalization(epsilon=epsilon, dtype=dtype, name=name)
    return keras.layers.LayerNormalization(
        epsilon=epsilon, dtype=dtype, name=name
    )


def check_heads_divide_hidden(hidden_dim, num_heads):
    """Raises a ValueError naming both numbers when heads do not divide.

    >>> check_heads_divide_hidden(32, 3)
    Traceback (most recent call last):
    ValueError: hidden_dim (32) must be divisible by num_heads (3); pick e.g. num_heads=2.
    """
    if hidden_dim % num_heads:
        raise ValueError(
            f"hidden_dim ({hidden_dim}) must be divisible by num_heads "
            f"({num_heads}); pick e.g. num_heads="
            f"{max(h for h in range(1, num_heads + 1) if hidden_dim % h == 0)}"
            "."
        )


@keras.saving.register_keras_serializable(package="tfzoo")
class TransformerBlock(keras.layers.Layer):
    """Self-attention, optional cross-attention and a feed-forward network,
    each with a residual connection.

    Post-norm (`x = norm(x + sublayer(x))`, BERT) by default;
    `normalize_first=True` gives pre-norm (`x = x + sublayer(norm(x))`,
    GPT-2, LLaMA, T5). Norms compute in float32.

    Args:
        num_heads, intermediate_dim: attention heads; feed-forward width.
        num_key_value_heads: fewer for grouped-query attention.
        causal: causal self-attention (decoders).
        cross_attention: attend to a `context` (an encoder's output) after
            self-attention.
        normalization: "layer_norm" or "rms_norm".
        feed_forward: "mlp" (`Dense`, activation, `Dense`) or "gated"
            (`activation(gate(x)) * up(x)`: SwiGLU with "silu", T5 v1.1
            with "gelu_approximate").
        activation: the feed-forward activation.
        rotary, rotary_base, score_scale: see `Attention`.
        use_bias: biases on the attention and feed-forward projections.
        head_dim: the width of each attention head (default `hidden_dim //
            num_heads`); T5 v1.1 small has 6 heads of 64 on a hidden 512.
        dropout: on each sublayer's output; `attention_dropout` (default
            `dropout`) on the attention weights; `feed_forward_dropout`
            (default 0) on the feed-forward's intermediate activations
            (T5).

    Call arguments:
        inputs: `[batch, length, hidden]`.
        padding_mask: optional `[batch, key_length]`, true at real tokens.
        score_bias: optional additive self-attention score bias, see
            `Attention`.
        context, context_padding_mask: the cross-attended sequence
            `[batch, context_length, hidden]` and its padding mask.
        cache, cache_index: the self-attention `(keys, values)` cache,
            written at `cache_index`; see `Attention`.
        context_cache: read-only cross-attention `(keys, values)` (from
            `self.cross_attention.project_context(context)`), instead of
            `context`.
        context_query_kernel: optional, the cross-attention's
            `query_kernel()` cut once before a decode loop.
        first_token_only: compute position 0 only (keys and values still
            use every position), returning `[batch, 1, hidden]`: all a
            classifier needs from the last encoder block.

    Returns the output, or `(output, cache)` when `cache` is given.

    Example:

    >>> import tensorflow as tf
    >>> bert = TransformerBlock(num_heads=2, intermediate_dim=32)
    >>> bert(tf.zeros((2, 5, 16))).shape
    TensorShape([2, 5, 16])
    >>> llama = TransformerBlock(4, 32, num_key_value_heads=2, causal=True,
    ...                          normalize_first=True, normalization="rms_norm",
    ...                          feed_forward="gated", activation="silu",
    ...                          rotary=True, use_bias=False)
    >>> llama(tf.zeros((2, 5, 16))).shape
    TensorShape([2, 5, 16])
    >>> decoder = TransformerBlock(2, 32, causal=True, cross_attention=True,
    ...                            normalize_first=True)
    >>> decoder(tf.zeros((2, 3, 16)), context=tf.zeros((2, 7, 16))).shape
    TensorShape([2, 3, 16])
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        num_key_value_heads=None,
        causal=False,
        cross_attention=False,
        normalize_first=False,
        normalization="layer_norm",
        feed_forward="mlp",
        activation="gelu",
        rotary=False,
        rotary_base=10000.0,
        score_scale=None,
        use_bias=True,
        dropout=0.0,
        attention_dropout=None,
        layer_norm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        output_initializer=None,
        head_dim=None,
        feed_forward_dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if head_dim is not None and head_dim < 1:
            raise ValueError(f"head_dim must be positive, got {head_dim}.")
        if feed_forward not in FEED_FORWARDS:
            raise ValueError(
                f"feed_forward must be one of {FEED_FORWARDS}, got "
                f"{feed_forward!r}."
            )
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {NORMALIZATIONS}, got "
                f"{normalization!r}."
            )
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.num_key_value_heads = num_key_value_heads or num_heads
        self.causal = causal
        self.cross_attention_enabled = cross_attention
        self.normalize_first = normalize_first
        self.normalization = normalization
        self.feed_forward_type = feed_forward
        self.activation = activation
        self.rotary = rotary
        self.rotary_base = rotary_base
        self.score_scale = score_scale
        self.use_bias = use_bias
        self.dropout = dropout
        self.attention_dropout = (
            dropout if attention_dropout is None else attention_dropout
        )
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.output_initializer = keras.initializers.get(
            output_initializer or kernel_initializer
        )
        self.head_dim = head_dim
        self.feed_forward_dropout = feed_forward_dropout

    def _attention(self, head_dim, causal, rotary, name):
        return Attention(
            self.num_heads, head_dim,
            num_key_value_heads=self.num_key_value_heads, causal=causal,
            rotary=rotary, rotary_base=self.rotary_base,
            score_scale=self.score_scale, use_bias=self.use_bias,
            dropout=self.attention_dropout,
            kernel_initializer=self.kernel_initializer,
            output_initializer=self.output_initializer,
            dtype=self.dtype_policy, name=name,
        )

    def _norm(self, name):
        return normalization_layer(self.normalization, self.layer_norm_epsilon,
                                   self.dtype_policy, name)

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        head_dim = self.head_dim
        if head_dim is None:
            check_heads_divide_hidden(hidden_dim, self.num_heads)
            head_dim = hidden_dim // self.num_heads
        policy = self.dtype_policy
        self.attention = self._attention(head_dim, self.causal, self.rotary,
                                         "attention")
        self.attention_norm = self._norm("attention_norm")
        sublayers = [self.attention, self.attention_norm]
        if self.cross_attention_enabled:
            self.cross_attention = self._attention(
                head_dim, False, False, "cross_attention")
            self.cross_attention_norm = self._norm("cross_attention_norm")
            sublayers += [self.cross_attention, self.cross_attention_norm]
        feed_forward_class = (GatedFeedForward
                              if self.feed_forward_type == "gated"
                              else FeedForward)
        self.feed_forward = feed_forward_class(
            self.intermediate_dim, activation=get_activation(self.activation),
            use_bias=self.use_bias, dropout=self.feed_forward_dropout,
            kernel_initializer=self.kernel_initializer, dtype=policy,
            name="feed_forward",
        )
        self.feed_forward_norm = self._norm("feed_forward_norm")
        sublayers += [self.feed_forward, self.feed_forward_norm]
        for layer in sublayers:
            layer.build(input_shape)
        self.attention_dropout_layer = Dropout(self.dropout, dtype=policy)
        if self.cross_attention_enabled:
            self.cross_attention_dropout_layer = Dropout(self.dropout,
                                                         dtype=policy)
        self.feed_forward_dropout_layer = Dropout(self.dropout, dtype=policy)
        self.built = True

    def _residual(self, inputs, sublayer, norm, dropout, residual=None,
                  training=None):
        """`inputs + sublayer(norm(inputs))` (pre-norm) or
        `norm(inputs + sublayer(inputs))` (post-norm). `sublayer` returns
        an output, or `(output, cache)`; so does this."""
        residual = inputs if residual is None else residual
        result = sublayer(norm(inputs) if self.normalize_first else inputs)
        output, cache = result if isinstance(result, tuple) else (result, None)
        x = residual + dropout(output, training=training)
        if not self.normalize_first:
            x = norm(x)
        return x if cache is None else (x, cache)

    def call(
        self,
        inputs,
        padding_mask=None,
        score_bias=None,
        context=None,
        context_padding_mask=None,
        cache=None,
        cache_index=None,
        context_cache=None,
        context_query_kernel=None,
        first_token_only=False,
        training=None,
    ):
        def self_attend(x):
            if first_token_only:
                # The first query's row of the bias.
                return self.attention(x[:, :1], context=x,
                                      padding_mask=padding_mask,
                                      score_bias=None if score_bias is None
                                      else score_bias[:, :, :1],
                                      training=training)
            return self.attention(x, padding_mask=padding_mask,
                                  score_bias=score_bias, cache=cache,
                                  cache_index=cache_index, training=training)

        x = self._residual(
            inputs, self_attend, self.attention_norm,
            self.attention_dropout_layer,
            residual=inputs[:, :1] if first_token_only else None,
            training=training,
        )
        if cache is not None:
            x, cache = x
        if self.cross_attention_enabled:
            if context is None and context_cache is None:
                raise ValueError(
                    "A TransformerBlock with cross_attention=True needs a "
                    "context (or a context_cache) to attend to."
                )

            def cross_attend(y):
                output = self.cross_attention(
                    y, context=context, padding_mask=context_padding_mask,
                    cache=context_cache, query_kernel=context_query_kernel,
                    training=training,
                )
                return output[0] if context_cache is not None else output

            x = self._residual(x, cross_attend, self.cross_attention_norm,
                               self.cross_attention_dropout_layer,
                               training=training)
        x = self._residual(x, self.feed_forward, self.feed_forward_norm,
                           self.feed_forward_dropout_layer, training=training)
        if cache is not None:
            return x, cache
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "num_key_value_heads": self.num_key_value_heads,
                "causal": self.causal,
                "cross_attention": self.cross_attention_enabled,
                "normalize_first": self.normalize_first,
                "normalization": self.normalization,
                "feed_forward": self.feed_forward_type,
                "activation": self.activation,
                "rotary": self.rotary,
                "rotary_base": self.rotary_base,
                "score_scale": self.score_scale,
                "use_bias": self.use_bias,
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "output_initializer": keras.initializers.serialize(
                    self.output_initializer
                ),
                "head_dim": self.head_dim,
                "feed_forward_dropout": self.feed_forward_dropout,
            }
        )
        return config


# Keras names a functional model's layers in `.keras` weight files after
# their classes ("transformer_encoder_block_1/attention/vars/0"), so the
# blocks of BERT and GPT keep the class names they were saved under: the
# same block, with the names files written before the merge expect.


@keras.saving.register_keras_serializable(package="tfzoo")
class TransformerEncoderBlock(TransformerBlock):
    """`TransformerBlock` under the name BERT's `.keras` files use."""


@keras.saving.register_keras_serializable(package="tfzoo")
class CausalDecoderBlock(TransformerBlock):
    """`TransformerBlock` under the name GPT's `.keras` files use."""
