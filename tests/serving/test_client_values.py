"""Tests for `serving.client_values`: inputs, JSON tensors, tf.Examples."""

import base64
import json

import numpy as np
import pytest
import tensorflow as tf

from serving.client_values import array_from_json
from serving.client_values import array_to_json
from serving.client_values import as_input_array
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
    decoded = array_from_json(json.loads(json.dumps(encoded)),
                              tf.string.as_datatype_enum)
    assert decoded.dtype == object and decoded.shape == (2, 2)
    assert decoded.tolist() == array.tolist()
    assert array_to_json(np.array([[1.5, 2]], np.float32)) == [[1.5, 2.0]]


def test_json_replies_get_the_signature_dtypes():
    floats = array_from_json([[0.1, 1.0]], tf.float32.as_datatype_enum)
    assert floats.dtype == np.float32
    np.testing.assert_array_equal(floats, np.array([[0.1, 1.0]], np.float32))
    assert array_from_json([1, 2], tf.int32.as_datatype_enum).dtype == np.int32
    assert array_from_json([1, 2], tf.int64.as_datatype_enum).dtype == np.int64
    assert array_from_json([], tf.float32.as_datatype_enum).shape == (0,)
    # Without a signature: strings still come back as bytes.
    assert array_from_json(["x", {"b64": "/w=="}]).tolist() == [b"x", b"\xff"]
    assert array_from_json("x").shape == ()


def test_examples_become_tf_examples_and_tf_serving_json():
    example = make_example({
        "text": "héllo", "raw": b"\xff", "ids": [1, 2, True],
        "weights": [1, 2.5], "score": np.float32(0.25), "none": [],
    })
    feature = example.features.feature
    assert feature["text"].bytes_list.value == ["héllo".encode()]
    assert feature["raw"].bytes_list.value == [b"\xff"]
    assert feature["ids"].int64_list.value == [1, 2, 1]
    assert feature["weights"].float_list.value == [1.0, 2.5]
    assert feature["score"].float_list.value == [0.25]
    assert feature["none"].WhichOneof("kind") is None
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
