import pytest
import tensorflow as tf

from tfzoo.preprocessing import MultiSegmentPacker


def packer(length=8):
    return MultiSegmentPacker(length, start_id=2, end_id=3, pad_id=0)


def test_single_segment_is_padded_to_a_static_length():
    packed = packer()(tf.ragged.constant([[10, 11], [12, 13, 14, 15, 16, 17, 18]]))
    assert packed["token_ids"].numpy().tolist() == [
        [2, 10, 11, 3, 0, 0, 0, 0],
        [2, 12, 13, 14, 15, 16, 17, 3],
    ]
    assert packed["padding_mask"].numpy().tolist()[0] == [1] * 4 + [0] * 4
    assert packed["segment_ids"].numpy().max() == 0


def test_pairs_truncate_round_robin():
    first = tf.ragged.constant([[10, 11, 12, 13, 14, 15], [10]])
    second = tf.ragged.constant([[20, 21, 22, 23, 24, 25], [20, 21, 22, 23, 24, 25]])
    packed = packer(9)((first, second))
    assert packed["token_ids"].numpy().tolist() == [
        [2, 10, 11, 12, 3, 20, 21, 22, 3],
        [2, 10, 3, 20, 21, 22, 23, 24, 3],
    ]
    assert packed["segment_ids"].numpy().tolist()[0] == [0] * 5 + [1] * 4


def test_static_shape_inside_tf_function():
    layer = packer(16)
    spec = tf.RaggedTensorSpec([None, None], tf.int32)
    traced = tf.function(lambda ids: layer(ids), input_signature=[spec])
    concrete = traced.get_concrete_function()
    assert concrete.structured_outputs["token_ids"].shape.as_list() == [None, 16]
    assert concrete.structured_outputs["token_ids"].dtype == tf.int32


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least 3"):
        MultiSegmentPacker(2, 2, 3)
    ids = tf.ragged.constant([[1]])
    with pytest.raises(ValueError, match="1 or 2 segments"):
        packer()((ids, ids, ids))
