"""Tests for `serving.client_values`: inputs, JSON tensors, examples."""

import base64
import json

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from serving.client_values import array_from_json
from serving.client_values import array_to_json
from serving.client_values import as_input_array
from serving.client_values import dtype_name
from serving.client_values import example_to_json
from serving.client_values import make_example


def test_inputs_become_arrays_with_tf_default_dtypes():
    text = as_input_array(["héllo", b"\xff"])
    assert text.dtype == object and text.tolist() == [b"h\xc3\xa9llo", b"\xff"]
    assert as_input_array("one").shape == ()
    assert as_input_array([["a", "b"]]).shape == (1, 2)
    assert as_input_array(np.array(["a"])).tolist() == [b"a"]
    assert as_input_array([[1, 2], [3, 4]]).dtype == np.int32
    assert as_input_array([0.5]).dtype == np.float32
    assert as_input_array([True]).dtype == np.bool_
    ids = np.array([[1, 2]], np.int64)
    assert as_input_array(ids).dtype == np.int64  # numpy keeps its dtype
    with pytest.raises(ValueError, match="beyond int32"):
        as_input_array([2**40])
    with pytest.raises(ValueError, match="rectangular"):
        as_input_array([["a", "b"], ["c"]])
    with pytest.raises(TypeError):
        as_input_array(["a", 1])


def test_json_tensors_round_trip_with_b64_for_binary():
    array = as_input_array([["plain", "naïve 😀"], [b"\xff\xfe", b""]])
    encoded = array_to_json(array)
    assert encoded == [["plain", "naïve 😀"],
                       [{"b64": base64.b64encode(b"\xff\xfe").decode()}, ""]]
    decoded = array_from_json(json.loads(json.dumps(encoded)), "string")
    assert decoded.dtype == object and decoded.shape == (2, 2)
    assert decoded.tolist() == array.tolist()
    assert array_to_json(np.array([[1.5, 2]], np.float32)) == [[1.5, 2.0]]


def test_json_replies_get_the_signature_dtypes():
    floats = array_from_json([[0.1, 1.0]], "float32")
    assert floats.dtype == np.float32
    np.testing.assert_array_equal(floats, np.array([[0.1, 1.0]], np.float32))
    assert array_from_json([1, 2], "int32").dtype == np.int32
    assert array_from_json([1, 2], "int64").dtype == np.int64
    assert array_from_json([], "float32").shape == (0,)
    bfloat16 = array_from_json([1.5], "bfloat16")
    assert bfloat16.dtype == tf.bfloat16.as_numpy_dtype
    # Without a signature: strings still come back as bytes.
    assert array_from_json(["x", {"b64": "/w=="}]).tolist() == [b"x", b"\xff"]
    assert array_from_json("x").shape == ()


def test_dtype_names_are_tensorflow_names():
    for dtype in (tf.float32, tf.float64, tf.float16, tf.bfloat16, tf.int8,
                  tf.int64, tf.uint32, tf.bool, tf.string, tf.complex64,
                  tf.qint8, tf.resource, tf.variant):
        name = types_pb2.DataType.Name(dtype.as_datatype_enum)
        assert dtype_name(name) == dtype.name


def test_examples_become_feature_lists_and_tf_serving_json():
    example = make_example({
        "text": "héllo", "raw": b"\xff", "ids": [1, 2, True],
        "weights": [1, 2.5], "score": np.float32(0.25), "none": [],
    })
    assert example == {
        "text": ["héllo".encode()], "raw": [b"\xff"], "ids": [1, 2, 1],
        "weights": [1.0, 2.5], "score": [0.25], "none": [],
    }
    proto = tf.train.Example()
    proto.features.feature["ids"].int64_list.value.extend([3, 4])
    proto.features.feature["text"].bytes_list.value.append(b"hi")
    proto.features.feature["none"].SetInParent()
    assert make_example(proto) == {"ids": [3, 4], "text": [b"hi"],
                                   "none": []}
    assert json.loads(json.dumps(example_to_json(example))) == {
        "text": ["héllo"], "raw": [{"b64": "/w=="}], "ids": [1, 2, 1],
        "weights": [1.0, 2.5], "score": [0.25], "none": [],
    }
    # Floats stay floats in JSON, which is how TF Serving tells them apart.
    assert "1.0" in json.dumps(example_to_json(example)["weights"])
    with pytest.raises(TypeError, match="not mixed"):
        make_example({"bad": ["a", 1]})
    with pytest.raises(TypeError, match="dict"):
        make_example(["text", "a"])
