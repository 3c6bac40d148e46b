"""Multi-head attention, the one attention layer of tfzoo.

Self- or cross-attention, causal or not, grouped-query, rotary, with an
optional score scale, an additive score bias and a key/value cache. BERT's
encoder, GPT's decoder and an encoder-decoder's two attentions are all
this layer with other arguments.
"""

import keras
import tensorflow as tf

from tfzoo.layers.cache_update import write_at_position
from tfzoo.legacy_layout import reshaped_store
from tfzoo.layers.dropout import Dropout
from tfzoo.layers.rotary_embedding import RotaryEmbedding

# Added to the scores of masked positions. Finite, so a fully masked row
# (a padded query) gives a uniform distribution instead of NaN.
MASKED_SCORE = -1e9


def attention_mask(query_length, key_length, padding_mask=None,
                   causal=False, start_index=0):
    """Where attending is allowed: bool `[batch or 1, query, key]`, or None.

    Args:
        padding_mask: optional `[batch, key_length]`, true at real keys.
        causal: query `i`, at position `start_index + i`, sees the keys at
            positions up to its own.

    >>> attention_mask(2, 3, causal=True, start_index=1).numpy().astype(int)
    array([[[1, 1, 0],
            [1, 1, 1]]])
    """
    mask = None
    if causal:
        query_positions = tf.range(query_length) + start_index
        mask = (query_positions[:, None] >= tf.range(key_length)[None])[None]
    if padding_mask is not None:
        keys = tf.cast(padding_mask, "bool")[:, None, :]
        mask = keys if mask is None else tf.logical_and(mask, keys)
    return mask


@keras.saving.register_keras_serializable(package="tfzoo")
class Attention(keras.layers.Layer):
    """Multi-head dot-product attention with a fused projection.

    One kernel `[hidden, (num_heads + 2 * num_key_value_heads) * head_dim]`
    projects queries, keys and values in that order (GPT-2's `c_attn`
    layout), so self-attention needs one matmul; cross-attention projects
    its queries with the first columns and the context's keys and values
    with the rest. With `num_key_value_heads < num_heads` (grouped-query
    attention) each key/value head serves several query heads and the
    cache shrinks by that factor. Scores, bias, masking and softmax run in
    float32 under mixed precision.

    Args:
        num_heads, head_dim: query heads and their width.
        num_key_value_heads: key/value heads (default `num_heads`).
        causal: each query sees only keys at or before its position.
        rotary: rotate queries and keys by position (RoPE); self-attention
            only.
        score_scale: multiplies `q·k` (default `head_dim ** -0.5`; T5 uses
            1.0).
        use_bias: biases on the projections.
        dropout: dropout on the attention weights.

    Call arguments:
        inputs: `[batch, query_length, hidden]`.
        context: optional `[batch, key_length, hidden]` to attend to
            (cross-attention); default `inputs`.
        padding_mask: optional `[batch, key_length]`, true at real keys.
        score_bias: optional float `[1 or batch, num_heads, query_length,
            key_length]` added to the scores (e.g. a relative position bias).
        cache: optional `(keys, values)`, each `[batch, num_key_value_heads,
            max_length, head_dim]`. With `cache_index`, the new keys and
            values are written there and the queries attend to the whole
            cache (decoding). Without it, the cache is read as it is (keys
            and values of a context, from `project_context`).
        cache_index: int scalar, the position of `inputs[:, 0]`.
        query_kernel: optional, `query_kernel()` cut beforehand; for
            cross-attention only (self-attention projects all columns in
            one matmul).

    Returns the output `[batch, query_length, hidden]`, or `(output, cache)`
    when a cache is given.

    Example:

    >>> import tensorflow as tf
    >>> attention = Attention(num_heads=4, head_dim=8, num_key_value_heads=2,
    ...                       causal=True, rotary=True)
    >>> attention(tf.zeros((2, 5, 32))).shape
    TensorShape([2, 5, 32])
    >>> cross = Attention(num_heads=4, head_dim=8)
    >>> encoded = tf.zeros((2, 7, 32))
    >>> cross(tf.zeros((2, 3, 32)), context=encoded).shape
    TensorShape([2, 3, 32])
    >>> keys, values = cross.project_context(encoded)  # a read-only cache
    >>> cross(tf.zeros((2, 1, 32)), cache=(keys, values))[0].shape
    TensorShape([2, 1, 32])
    """

    def __init__(
        self,
        num_heads,
        head_dim,
        num_key_value_heads=None,
        causal=False,
        rotary=False,
        rotary_base=10000.0,
        score_scale=None,
        use_bias=True,
        dropout=0.0,
        kernel_initializer="glorot_uniform",
        output_initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_heads < 1 or head_dim < 1:
            raise ValueError(
                f"num_heads and head_dim must be positive, got "
                f"num_heads={num_heads}, head_dim={head_dim}."
            )
        num_key_value_heads = num_key_value_heads or num_heads
        if num_heads % num_key_value_heads:
            raise ValueError(
                f"num_heads ({num_heads}) must be a multiple of "
                f"num_key_value_heads ({num_key_value_heads})."
            )
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.num_key_value_heads = num_key_value_heads
        self.causal = causal
        self.rotary = rotary
        self.rotary_base = rotary_base
        self.score_scale = score_scale
        self.use_bias = use_bias
        self.dropout = dropout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.output_initializer = keras.initializers.get(
            output_initializer or kernel_initializer
        )
        self.rotary_embedding = (
            RotaryEmbedding(rotary_base, dtype=self.dtype_policy)
            if rotary else None
        )
        self.dropout_layer = Dropout(dropout, dtype=self.dtype_policy)

    @property
    def _query_width(self):
        return self.num_heads * self.head_dim

    @property
    def _key_width(self):
        return self.num_key_value_heads * self.head_dim

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        width = self._query_width + 2 * self._key_width
        self.qkv_kernel = self.add_weight(
            name="qkv_kernel", shape=(hidden_dim, width),
            initializer=self.kernel_initializer,
        )
        self.output_kernel = self.add_weight(
            name="output_kernel", shape=(self._query_width, hidden_dim),
            initializer=self.output_initializer,
        )
        if self.use_bias:
            self.qkv_bias = self.add_weight(
                name="qkv_bias", shape=(width,), initializer="zeros"
            )
            self.output_bias = self.add_weight(
                name="output_bias", shape=(hidden_dim,), initializer="zeros"
            )
        self.dropout_layer.build(None)
        self.built = True

    def load_own_variables(self, store):
        """Also reads files saved in the layout before the merged layer
        (see `tfzoo.legacy_layout`)."""
        super().load_own_variables(reshaped_store(
            store, self._trainable_variables + self._non_trainable_variables
        ))

    def _project(self, inputs, columns, kernel=None):
        """`inputs @ qkv_kernel[:, columns] (+ bias)` as `[batch * length,
        width]`: one 2-D matmul, which XLA on CPU runs fastest. `kernel`:
        those columns, when already cut."""
        flat = tf.reshape(inputs, [-1, inputs.shape[-1]])
        if kernel is None:
            kernel = self.qkv_kernel[:, columns]
        projected = tf.matmul(flat, tf.cast(kernel, flat.dtype))
        if self.use_bias:
            projected += self.qkv_bias[columns]
        return projected

    def _heads_first(self, flat, batch, length):
        """`[batch * length, kv_heads * head_dim]` to `[batch, kv_heads,
        length, head_dim]`, the cache's layout."""
        return tf.transpose(
            tf.reshape(flat, [batch, length, self.num_key_value_heads,
                              self.head_dim]),
            [0, 2, 1, 3],
        )

    def query_kernel(self):
        """The query columns of `qkv_kernel`, `[hidden, num_heads *
        head_dim]`. A decode loop cuts them once and passes them as
        `call(query_kernel=...)`: XLA copies a slice taken inside its loop
        at every step (1 MB a layer for T5-small's cross-attention)."""
        return self.qkv_kernel[:, :self._query_width]

    def project_context(self, context):
        """Keys and values of `context` `[batch, length, hidden]`, as a
        read-only cache: each `[batch, num_key_value_heads, length,
        head_dim]`. Cross-attention decoding computes them once."""
        batch, length = tf.shape(context)[0], tf.shape(context)[1]
        keys, values = tf.split(
            self._project(context, slice(self._query_width, None)), 2, axis=-1
        )
        return (self._heads_first(keys, batch, length),
                self._heads_first(values, batch, length))

    def call(
        self,
        inputs,
        context=None,
        padding_mask=None,
        score_bias=None,
        cache=None,
        cache_index=None,
        query_kernel=None,
        training=None,
    ):
        if cache_index is not None and cache is None:
            raise ValueError(
                "cache_index is where a cache is written: pass the cache "
                "too (or neither)."
            )
        reads_cache = cache is not None and cache_index is None
        self_attention = context is None and not reads_cache
        if self.rotary and not self_attention:
            raise ValueError("Rotary attention is self-attention only.")
        batch, length = tf.shape(inputs)[0], tf.shape(inputs)[1]
        if self_attention:
            query, key, value = tf.split(
                self._project(inputs, slice(None)),
                [self._query_width, self._key_width, self._key_width],
                axis=-1,
            )
        else:
            query = self._project(inputs, slice(0, self._query_width),
                                  query_kernel)
        query = tf.reshape(query, [batch, length, self.num_heads,
                                   self.head_dim])
        start = 0 if cache_index is None else cache_index
        if reads_cache:
            key, value = cache
        else:
            if not self_attention:
                key, value = self.project_context(context)
            else:
                if self.rotary:
                    shape = [batch, length, self.num_key_value_heads,
                             self.head_dim]
                    query = self.rotary_embedding(query, start_index=start)
                    key = tf.reshape(
                        self.rotary_embedding(tf.reshape(key, shape),
                                              start_index=start),
                        [-1, self._key_width],
                    )
                key = self._heads_first(key, batch, length)
                value = self._heads_first(value, batch, length)
            if cache is not None:
                key = write_at_position(cache[0], key, cache_index, axis=2)
                value = write_at_position(cache[1], value, cache_index, axis=2)
                cache = (key, value)
                if not self.causal:  # only the slots written so far
                    written = (tf.range(tf.shape(key)[2])
                               < start + length)[None]
                    padding_mask = written if padding_mask is None else (
                        tf.logical_and(tf.cast(padding_mask, "bool"),
                                       written))
        output = self._attend(query, key, value, padding_mask, score_bias,
                              start, training)
        output = tf.reshape(output, [batch, length, output.shape[-1]])
        if cache is not None:
            return output, cache
        return output

    def _attend(self, query, key, value, padding_mask, score_bias, start,
                training):
        """Queries `[batch, length, heads, head_dim]` over keys and values
        `[batch, kv_heads, key_length, head_dim]`; returns the projected
        output `[batch * length, hidden]`."""
        batch, length = tf.shape(query)[0], tf.shape(query)[1]
        key_length = tf.shape(key)[2]
        kv_heads, groups = (self.num_key_value_heads,
                            self.num_heads // self.num_key_value_heads)
        # The query heads of one key/value head side by side: [batch,
        # kv_heads, groups * length, head_dim]. The cache's layout is never
        # transposed.
        query = tf.reshape(
            tf.transpose(
                tf.reshape(query, [batch, length, kv_heads, groups,
                                   self.head_dim]),
                [0, 2, 3, 1, 4],
            ),
            [batch, kv_heads, groups * length, self.head_dim],
        )
        scores = tf.matmul(query, key, transpose_b=True)
        scale = (self.head_dim ** -0.5 if self.score_scale is None
                 else self.score_scale)
        scores = tf.cast(scores, "float32")
        if scale != 1.0:
            scores *= scale
        scores = tf.reshape(scores, [batch, kv_heads, groups, length,
                                     key_length])
        if score_bias is not None:
            scores += tf.reshape(
                tf.cast(score_bias, "float32"),
                [-1, kv_heads, groups, length, key_length],
            )
        mask = attention_mask(length, key_length, padding_mask, self.causal,
                              start)
        if mask is not None:
            scores = tf.where(mask[:, None, None], scores, MASKED_SCORE)
        weights = tf.nn.softmax(scores, axis=-1)
        weights = self.dropout_layer(weights, training=training)
        weights = tf.reshape(
            tf.cast(weights, self.compute_dtype),
            [batch, kv_heads, groups * length, key_length],
        )
        context = tf.reshape(
            tf.matmul(weights, value),
            [batch, kv_heads, groups, length, self.head_dim],
        )
        context = tf.reshape(
            tf.transpose(context, [0, 3, 1, 2, 4]), [-1, self._query_width]
        )
        output = tf.matmul(context, self.output_kernel)
        if self.use_bias:
            output += self.output_bias
        return output

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "head_dim": self.head_dim,
                "num_key_value_heads": self.num_key_value_heads,
                "causal": self.causal,
                "rotary": self.rotary,
                "rotary_base": self.rotary_base,
                "score_scale": self.score_scale,
                "use_bias": self.use_bias,
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "output_initializer": keras.initializers.serialize(
                    self.output_initializer
                ),
            }
        )
        return config
