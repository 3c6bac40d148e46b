"""T5's relative position bias: a learned score bias per distance bucket.

Instead of position embeddings, T5 adds to every attention score a learned
scalar per head that depends on the bucketed distance `key - query`. Small
distances get a bucket each; larger ones share logarithmically wider
buckets up to `max_distance`, beyond which all distances share the last
bucket. An encoder is bidirectional (half of the buckets for keys after
the query); a decoder is causal (only keys at or before the query count).

>>> relative_position_buckets(1, 6, bidirectional=False, num_buckets=4,
...                           max_distance=8).numpy()
array([[0, 0, 0, 0, 0, 0]], dtype=int32)
>>> relative_position_buckets(1, 6, query_offset=5, bidirectional=False,
...                           num_buckets=4, max_distance=8).numpy()
array([[3, 3, 2, 2, 1, 0]], dtype=int32)
"""

import math

import keras
import tensorflow as tf


def relative_position_buckets(query_length, key_length, query_offset=0,
                              bidirectional=True, num_buckets=32,
                              max_distance=128):
    """The bucket of each (query, key) pair: int32 `[query, key]`.

    Query `i` sits at position `query_offset + i`, key `j` at `j`; the
    distance is `j - (query_offset + i)`.
    """
    queries = tf.range(query_length) + tf.cast(query_offset, "int32")
    relative = tf.range(key_length)[None, :] - queries[:, None]
    buckets = tf.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        buckets += tf.cast(relative > 0, "int32") * num_buckets
        distance = tf.abs(relative)
    else:
        distance = -tf.minimum(relative, 0)
    exact = num_buckets // 2
    # log of at least `exact`, so small distances (picked from `distance`
    # below) never take log(0).
    scaled = (
        tf.math.log(tf.cast(tf.maximum(distance, exact), "float32") / exact)
        / math.log(max_distance / exact) * (num_buckets - exact)
    )
    large = tf.minimum(exact + tf.cast(scaled, "int32"), num_buckets - 1)
    return buckets + tf.where(distance < exact, distance, large)


@keras.saving.register_keras_serializable(package="tfzoo")
class RelativePositionBias(keras.layers.Layer):
    """Additive attention score bias from bucketed relative positions.

    Owns a `[num_buckets, num_heads]` table (`relative_attention_bias`,
    Hugging Face T5's `relative_attention_bias.weight`). Computed once per
    stack and passed as `score_bias` to every layer's self-attention.

    Args:
        num_heads: attention heads (one bias each).
        num_buckets, max_distance: T5's `relative_attention_num_buckets`
            and `relative_attention_max_distance`.
        bidirectional: True for an encoder, False for a causal decoder.

    Call arguments:
        query: `[batch, query_length, ...]`, only its length is used.
        key: optional `[batch, key_length, ...]` (default `query`).
        query_offset: int scalar, the position of the first query (the
            cache index in cached decoding).

    Returns the float bias `[1, num_heads, query_length, key_length]`.
    `bias(query_length, key_length, query_offset)` gives the same from
    lengths.

    Example:

    >>> import tensorflow as tf
    >>> layer = RelativePositionBias(num_heads=4, bidirectional=False)
    >>> layer(tf.zeros((2, 5, 8))).shape
    TensorShape([1, 4, 5, 5])
    >>> layer.bias(1, 16, query_offset=7).shape  # one decoding step
    TensorShape([1, 4, 1, 16])
    """

    def __init__(self, num_heads, num_buckets=32, max_distance=128,
                 bidirectional=True, embeddings_initializer="random_normal",
                 **kwargs):
        super().__init__(**kwargs)
        if num_buckets < 2 or (bidirectional and num_buckets < 4):
            raise ValueError(
                f"num_buckets must be at least 2 (4 when bidirectional), "
                f"got {num_buckets}."
            )
        self.num_heads = num_heads
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        self.bidirectional = bidirectional
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer
        )

    def build(self, input_shape=None):
        self.relative_attention_bias = self.add_weight(
            name="relative_attention_bias",
            shape=(self.num_buckets, self.num_heads),
            initializer=self.embeddings_initializer,
        )
        self.built = True

    def bias(self, query_length, key_length, query_offset=0):
        """The bias `[1, num_heads, query_length, key_length]`."""
        buckets = relative_position_buckets(
            query_length, key_length, query_offset, self.bidirectional,
            self.num_buckets, self.max_distance,
        )
        table = tf.convert_to_tensor(self.relative_attention_bias)
        values = tf.gather(table, buckets)  # [query, key, heads]
        return tf.transpose(values, [2, 0, 1])[None]

    def call(self, query, key=None, query_offset=0):
        key = query if key is None else key
        return self.bias(tf.shape(query)[1], tf.shape(key)[1], query_offset)

    def compute_output_spec(self, query, key=None, query_offset=0):
        key = query if key is None else key
        return keras.KerasTensor(
            (1, self.num_heads, query.shape[1], key.shape[1]),
            dtype=self.compute_dtype,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "num_buckets": self.num_buckets,
                "max_distance": self.max_distance,
                "bidirectional": self.bidirectional,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer
                ),
            }
        )
        return config
