"""Run each batch at the shortest length bucket that holds its tokens.

Preprocessors pad every sequence to `sequence_length`, but most text is
much shorter. Cutting a batch's features to the smallest bucket (16, 32,
64, ... up to `sequence_length`) that holds all of its real tokens makes a
short batch cost a fraction of a full-length one, and cutting only padding
changes no result. Buckets, rather than the exact longest length, keep the
set of shapes small: training compiles one XLA step per bucket (not per
batch), and an exported model's warmup requests cover every bucket.

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


def bucket_for(length, sequence_length):
    """The smallest bucket of `sequence_buckets(sequence_length)` holding
    `length` (a Python int), or `sequence_length`.

    >>> bucket_for(17, 512), bucket_for(600, 512)
    (32, 512)
    """
    for bucket in sequence_buckets(sequence_length):
        if bucket >= length:
            return bucket
    return sequence_length


def bucket_length(padding_mask, buckets):
    """The smallest of `buckets` (ascending) that holds every row's tokens."""
    tokens = tf.reduce_sum(
        tf.cast(tf.cast(padding_mask, tf.bool), tf.int32), axis=1
    )
    return smallest_bucket(tf.reduce_max(tf.concat([tokens, [0]], axis=0)),
                           buckets)


def smallest_bucket(length, buckets):
    """The smallest of `buckets` (ascending) >= the int32 scalar `length`;
    the largest bucket if none is.

    >>> int(smallest_bucket(tf.constant(17), [16, 32, 48]))
    32
    """
    buckets = tf.constant(buckets, tf.int32)
    index = tf.searchsorted(buckets, tf.reshape(length, [1]))[0]
    return tf.gather(buckets, tf.minimum(index, tf.size(buckets) - 1))


def trim_to_length_bucket(features, *labels):
    """Cuts a batch of features, and labels laid out per token, to its
    length bucket.

    A label tensor counts as per token (and is cut) when its second axis
    has the features' static sequence length; others pass through.

    >>> features = {"token_ids": tf.ones([2, 64], tf.int32),
    ...             "padding_mask": tf.sequence_mask([5, 20], 64)}
    >>> cut, labels = trim_to_length_bucket(features, tf.zeros([2, 64]))
    >>> cut["token_ids"].shape.as_list(), labels.shape.as_list()
    ([2, 32], [2, 32])
    """
    length = features["token_ids"].shape[1]
    bucket = bucket_length(features["padding_mask"],
                           sequence_buckets(length))

    def cut(tensor):
        if tensor.shape.rank and tensor.shape.rank >= 2 and (
            tensor.shape[1] == length
        ):
            return tensor[:, :bucket]
        return tensor

    return tuple(tf.nest.map_structure(cut, part) if part is not None
                 else None for part in (features, *labels))


def call_on_length_bucket(model, features, pad_sequence_axis=False):
    """`model(features)` with the features cut to their length bucket.

    `features` holds `token_ids`, `segment_ids` and `padding_mask` of
    static length L. With `pad_sequence_axis`, every output (a tensor or a
    dict of them) is `[batch, bucket, ...]` and is padded with zeros back
    to `[batch, L, ...]`.
    """
    length = features["token_ids"].shape[1]
    bucket = bucket_length(features["padding_mask"],
                           sequence_buckets(length))
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
