"""Serve each batch at the shortest length bucket that holds its tokens.

Preprocessors pad every sequence to `sequence_length`, but served text is
often much shorter. Exported signatures cut a batch's features to the
smallest bucket (16, 32, 64, ... up to `sequence_length`) that holds all
of its real tokens before the model runs, so a short sentence costs a
fraction of a full-length one. Cutting only padding changes no result.
Buckets, rather than the exact longest length, keep the set of shapes
small: the warmup requests cover every bucket, so no shape is new to the
server after it loads.

>>> sequence_buckets(128)
[16, 32, 64, 128]
>>> sequence_buckets(48)
[16, 32, 48]
"""

import tensorflow as tf

SMALLEST_BUCKET = 16


def sequence_buckets(sequence_length):
    """The bucket lengths for sequences packed to `sequence_length`."""
    buckets = []
    length = SMALLEST_BUCKET
    while length < sequence_length:
        buckets.append(length)
        length *= 2
    return buckets + [sequence_length]


def call_on_length_bucket(model, features, pad_sequence_axis=False):
    """`model(features)` with the features cut to their length bucket.

    `features` holds `token_ids`, `segment_ids` and `padding_mask` of
    static length L. With `pad_sequence_axis`, every output (a tensor or a
    dict of them) is `[batch, bucket, ...]` and is padded with zeros back
    to `[batch, L, ...]`.
    """
    length = features["token_ids"].shape[1]
    bucket_lengths = sequence_buckets(length)
    buckets = tf.constant(bucket_lengths, tf.int32)
    tokens = tf.reduce_sum(
        tf.cast(tf.not_equal(features["padding_mask"], 0), tf.int32), axis=1
    )
    longest = tf.reduce_max(tf.concat([tokens, [0]], axis=0))
    index = tf.searchsorted(buckets, tf.reshape(longest, [1]))[0]
    bucket = tf.gather(buckets, tf.minimum(index, len(bucket_lengths) - 1))
    outputs = model(
        {name: value[:, :bucket] for name, value in features.items()},
        training=False,
    )
    if not pad_sequence_axis:
        return outputs

    def pad(value):
        rank = len(value.shape)
        paddings = [[0, 0], [0, length - bucket]] + [[0, 0]] * (rank - 2)
        return tf.ensure_shape(
            tf.pad(value, paddings), [None, length, *value.shape[2:]]
        )

    return tf.nest.map_structure(pad, outputs)
