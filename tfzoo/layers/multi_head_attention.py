"""Multi-head attention with a fused QKV projection and a key/value cache."""

import keras
import tensorflow as tf
from tensorflow.compiler.tf2xla.python import xla

from tfzoo.layers.dropout import Dropout

# Added to the scores of masked positions. Finite, so a fully masked row
# (a padded query) gives a uniform distribution instead of NaN.
MASKED_SCORE = -1e9


@keras.saving.register_keras_serializable(package="tfzoo")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head scaled dot-product attention.

    One kernel of shape `[hidden, 3, num_heads, head_dim]` holds the query,
    key and value projections, so self-attention projects all three with a
    single matmul. Cross-attention (pass `value`) uses slices of the same
    kernel. Query and value must have the same feature size, which is also
    the output size. Scores, masking and softmax run in float32 under mixed
    precision.

    Call arguments:
        query: `[batch, query_length, hidden]`.
        value: optional `[batch, key_length, hidden]` for cross-attention.
        attention_mask: optional, broadcastable to
            `[batch, query_length, key_length]`; true where attending is
            allowed.
        use_causal_mask: mask keys after each query position.
        cache: optional `[batch, 2, num_heads, max_length, head_dim]` keys
            and values. With `cache_update_index`, the new keys and values are
            written at that index and attention runs over the whole cache
            (self-attention decoding). Without it, the cache holds ready-made
            keys and values (cross-attention decoding) and `value` is unused.
        cache_update_index: int scalar, the position of `query[:, 0]`.

    Returns the attention output, or `(output, cache)` when a cache is given.

    Example:

    >>> import tensorflow as tf
    >>> attention = MultiHeadAttention(num_heads=2, head_dim=8)
    >>> x = tf.random.normal((2, 5, 16))
    >>> attention(x, use_causal_mask=True).shape
    TensorShape([2, 5, 16])
    """

    def __init__(
        self,
        num_heads,
        head_dim,
        dropout=0.0,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_heads < 1 or head_dim < 1:
            raise ValueError(
                f"num_heads and head_dim must be positive, got "
                f"num_heads={num_heads}, head_dim={head_dim}."
            )
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.dropout_layer = Dropout(
            dropout, dtype=self.dtype_policy
        )

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        self.qkv_kernel = self.add_weight(
            name="qkv_kernel",
            shape=(hidden_dim, 3, self.num_heads, self.head_dim),
            initializer=self.kernel_initializer,
        )
        self.output_kernel = self.add_weight(
            name="output_kernel",
            shape=(self.num_heads, self.head_dim, hidden_dim),
            initializer=self.kernel_initializer,
        )
        if self.use_bias:
            self.qkv_bias = self.add_weight(
                name="qkv_bias",
                shape=(3, self.num_heads, self.head_dim),
                initializer=self.bias_initializer,
            )
            self.output_bias = self.add_weight(
                name="output_bias",
                shape=(hidden_dim,),
                initializer=self.bias_initializer,
            )
        self.dropout_layer.build(None)
        self.built = True

    def _project(self, inputs, parts):
        """Projects `inputs` with kernel slices `parts` (0=q, 1=k, 2=v).

        Returns `[num_parts, batch, num_heads, length, head_dim]`. One 2-D
        matmul does the work: XLA on CPU runs those fastest.
        """
        kernel = self.qkv_kernel[:, parts]
        num_parts = kernel.shape[1]
        batch, length = tf.shape(inputs)[0], tf.shape(inputs)[1]
        flat = tf.reshape(inputs, [-1, inputs.shape[-1]])
        projected = tf.matmul(flat, tf.reshape(kernel, [kernel.shape[0], -1]))
        if self.use_bias:
            projected = projected + tf.reshape(self.qkv_bias[parts], [-1])
        projected = tf.reshape(
            projected,
            [batch, length, num_parts, self.num_heads, self.head_dim],
        )
        return tf.transpose(projected, [2, 0, 3, 1, 4])

    def call(
        self,
        query,
        value=None,
        attention_mask=None,
        use_causal_mask=False,
        cache=None,
        cache_update_index=None,
        training=None,
    ):
        reads_ready_cache = cache is not None and cache_update_index is None
        if value is None and not reads_ready_cache:
            q, k, v = tf.unstack(self._project(query, slice(0, 3)))
        else:
            q = self._project(query, slice(0, 1))[0]
            if not reads_ready_cache:
                k, v = tf.unstack(self._project(value, slice(1, 3)))

        if cache is not None:
            if cache_update_index is not None:
                start = [0, 0, cache_update_index, 0]
                key_cache = xla.dynamic_update_slice(cache[:, 0], k, start)
                value_cache = xla.dynamic_update_slice(cache[:, 1], v, start)
                cache = tf.stack([key_cache, value_cache], axis=1)
            k, v = cache[:, 0], cache[:, 1]

        scores = tf.matmul(q, k, transpose_b=True)
        scores = tf.cast(scores, "float32") * (self.head_dim**-0.5)
        mask = self._combined_mask(
            attention_mask, use_causal_mask, tf.shape(q)[2], tf.shape(k)[2],
            cache_update_index,
        )
        if mask is not None:
            scores = tf.where(mask[:, None], scores, MASKED_SCORE)
        weights = tf.nn.softmax(scores, axis=-1)
        weights = self.dropout_layer(weights, training=training)
        weights = tf.cast(weights, self.compute_dtype)

        context = tf.matmul(weights, v)  # [batch, heads, query, head_dim]
        batch, query_length = tf.shape(query)[0], tf.shape(query)[1]
        context = tf.reshape(
            tf.transpose(context, [0, 2, 1, 3]),
            [-1, self.num_heads * self.head_dim],
        )
        output_kernel = tf.reshape(self.output_kernel, [context.shape[-1], -1])
        output = tf.matmul(context, output_kernel)
        if self.use_bias:
            output = output + self.output_bias
        # The static width, not -1: a batch of 0 rows must keep its shape.
        output = tf.reshape(output, [batch, query_length, output.shape[-1]])
        if cache is not None:
            return output, cache
        return output

    @staticmethod
    def _combined_mask(
        attention_mask, use_causal_mask, query_length, key_length, start_index
    ):
        """Returns a bool `[batch or 1, query, key]` mask, or None."""
        mask = None
        if attention_mask is not None:
            mask = tf.cast(attention_mask, "bool")
            if mask.shape.rank == 2:
                mask = mask[:, None, :]
        if use_causal_mask:
            offset = 0 if start_index is None else start_index
            query_positions = tf.range(query_length) + offset
            causal = query_positions[:, None] >= tf.range(key_length)[None]
            causal = causal[None]
            mask = causal if mask is None else tf.logical_and(mask, causal)
        return mask

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "head_dim": self.head_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
            }
        )
        return config
