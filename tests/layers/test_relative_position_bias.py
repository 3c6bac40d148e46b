"""Tests of `RelativePositionBias`: T5's bucketed bias, against
`transformers`' own bucketing."""

import numpy as np
import pytest
import tensorflow as tf
import torch
from transformers.models.t5.modeling_t5 import T5Attention

from tests.harness import run_layer_test
from tfzoo.layers.relative_position_bias import (
    RelativePositionBias,
    relative_position_buckets,
)

HEADS = 3


@pytest.mark.parametrize("bidirectional", [True, False],
                         ids=["encoder", "decoder"])
@pytest.mark.parametrize("num_buckets, max_distance",
                         [(32, 128), (8, 20), (16, 16)])
def test_buckets_equal_transformers(bidirectional, num_buckets,
                                    max_distance):
    length = 300
    ours = relative_position_buckets(length, length, 0, bidirectional,
                                     num_buckets, max_distance).numpy()
    relative = (torch.arange(length)[None, :]
                - torch.arange(length)[:, None])
    theirs = T5Attention._relative_position_bucket(
        relative, bidirectional=bidirectional, num_buckets=num_buckets,
        max_distance=max_distance).numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert ours.min() == 0 and ours.max() == num_buckets - 1


def test_shared_checks():
    output = run_layer_test(
        RelativePositionBias, {"num_heads": HEADS, "num_buckets": 8,
                               "max_distance": 16},
        args=[tf.zeros((2, 5, 4))], kwargs={"key": tf.zeros((2, 7, 4))},
        expected_output_shape=(1, HEADS, 5, 7),
    )
    assert np.abs(output).sum() > 0


@pytest.mark.parametrize("bidirectional", [True, False])
def test_table_lookup_and_query_offset(bidirectional):
    layer = RelativePositionBias(HEADS, num_buckets=8, max_distance=16,
                                 bidirectional=bidirectional)
    full = layer(tf.zeros((1, 10, 4))).numpy()
    table = layer.relative_attention_bias.numpy()
    assert table.shape == (8, HEADS)
    buckets = relative_position_buckets(10, 10, 0, bidirectional, 8,
                                        16).numpy()
    np.testing.assert_array_equal(full[0], table[buckets].transpose(2, 0, 1))
    # A decoding step at position 6 over a 10-slot cache: that row.
    step = layer.bias(1, 10, query_offset=tf.constant(6)).numpy()
    np.testing.assert_array_equal(step, full[:, :, 6:7])
    # Translation invariant: only distances matter.
    np.testing.assert_array_equal(full[0, :, 2:5, 2:5], full[0, :, 5:8, 5:8])


def test_causal_bias_ignores_the_future():
    layer = RelativePositionBias(HEADS, num_buckets=8, bidirectional=False)
    bias = layer(tf.zeros((1, 6, 4))).numpy()[0]
    # Every key after its query falls in bucket 0, like distance 0.
    upper = np.triu_indices(6, 1)
    assert np.all(bias[:, upper[0], upper[1]]
                  == bias[:, :1, :1].reshape(HEADS, 1))


def test_needs_enough_buckets():
    with pytest.raises(ValueError, match="num_buckets must be at least"):
        RelativePositionBias(2, num_buckets=2, bidirectional=True)
