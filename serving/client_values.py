"""The client's values: Python and numpy inputs, TF Serving JSON, examples.

- `as_input_array` turns an input into the numpy array to send (strings
  as object arrays of UTF-8 `bytes`, Python ints as int32, floats as
  float32); `decode_utf8` turns replied `bytes` back into `str`.
- `array_to_json` and `array_from_json` convert tensors to and from TF
  Serving's REST JSON, where binary strings are `{"b64": ...}`.
- `make_example` builds a `tf.train.Example` from a dict of features and
  `example_to_json` writes one as TF Serving's JSON.

>>> array_to_json(as_input_array(["ok", b"\\xff"]))
['ok', {'b64': '/w=='}]
"""

import base64

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2


def as_input_array(value, name="input"):
    """A numpy array ready to send: strings become object arrays of bytes.

    >>> as_input_array("héllo")
    array(b'h\\xc3\\xa9llo', dtype=object)
    >>> as_input_array([[1, 2]]).dtype, as_input_array([0.5]).dtype
    (dtype('int32'), dtype('float32'))
    """
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind in "SU" or array.dtype == object:
            return _strings_array(array.tolist(), name)
        return array
    if isinstance(_first_item(value), (str, bytes)):
        return _strings_array(value, name)
    try:
        array = np.asarray(value)
    except ValueError as error:
        raise ValueError(f"Input {name!r} is not a rectangular array of "
                         f"numbers: {error}") from None
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    if array.dtype.kind in "iu":
        if array.size and (array.min() < -2**31 or array.max() >= 2**31):
            raise ValueError(
                f"Input {name!r} has ints beyond int32; pass a numpy array "
                f"of the dtype the model expects (e.g. np.int64)."
            )
        return array.astype(np.int32)
    if array.dtype.kind == "b":
        return array
    raise TypeError(f"Input {name!r}: cannot send values of type "
                    f"{array.dtype} ({str(value)[:80]}).")


def _strings_array(value, name):
    def encode(item):
        if isinstance(item, str):
            return item.encode("utf-8")
        if isinstance(item, bytes):
            return item
        raise TypeError(f"Input {name!r} mixes strings with "
                        f"{type(item).__name__} values.")

    array = np.array(_map_nested(encode, value), dtype=object)
    if any(isinstance(item, list) for item in array.flat):
        raise ValueError(f"Input {name!r} is not a rectangular array of "
                         f"strings.")
    return array


def decode_utf8(array):
    """An object array with UTF-8 `bytes` decoded to `str` (others kept)."""
    result = np.empty(array.shape, dtype=object)
    flat = result.reshape(-1)
    for index, item in enumerate(array.reshape(-1)):
        if isinstance(item, bytes):
            try:
                item = item.decode("utf-8")
            except UnicodeDecodeError:
                pass
        flat[index] = item
    return result


def array_to_json(array):
    """TF Serving's JSON for a tensor: lists, with `{"b64": ...}` binary.

    >>> array_to_json(np.array([b"ok", b"\\xff"], dtype=object))
    ['ok', {'b64': '/w=='}]
    """
    if array.dtype != object:
        return array.tolist()
    return _map_nested(bytes_to_json, array.tolist())


def array_from_json(value, dtype=None):
    """A numpy array from TF Serving's JSON for a tensor.

    `dtype` is the tensor's `DataType` enum (from the signature) or None
    to infer it. Strings, and `{"b64": ...}`, become an object array of
    `bytes`.

    >>> array_from_json([[1.5, 2]], types_pb2.DT_FLOAT)
    array([[1.5, 2. ]], dtype=float32)
    >>> array_from_json(["ok", {"b64": "/w=="}])
    array([b'ok', b'\\xff'], dtype=object)
    """
    first = _first_item(value)
    if (dtype == types_pb2.DT_STRING or isinstance(first, str)
            or is_b64_object(first)):
        def to_bytes(item):
            if is_b64_object(item):
                return base64.b64decode(item["b64"])
            if isinstance(item, str):
                return json_string_to_bytes(item)
            raise ValueError(f"expected a string in a string tensor, got "
                             f"{item!r}")

        converted = _map_nested(to_bytes, value)
        shape = np.array(converted, dtype=object).shape
        array = np.empty(shape, dtype=object)
        array[...] = converted
        return array
    if dtype is None or dtype == types_pb2.DT_INVALID:
        return np.asarray(value)
    return np.asarray(value, dtype=tf.as_dtype(dtype).as_numpy_dtype)


def bytes_to_json(data):
    """A JSON string for UTF-8 `data`, else `{"b64": ...}`."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode("ascii")}


def is_b64_object(value):
    """Whether a JSON value is `{"b64": ...}`, a binary string."""
    return isinstance(value, dict) and set(value) == {"b64"}


def json_string_to_bytes(text):
    """The bytes of a string from a reply decoded with surrogateescape
    (TF Serving writes string tensors raw, not always UTF-8)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def json_string_to_text(text):
    """A string from a reply as printable text (bytes not UTF-8 replaced)."""
    return json_string_to_bytes(text).decode("utf-8", "replace")


def float32_score(value):
    """The same Python float for a float32 score from gRPC or JSON."""
    return float(np.float32(value))


def _first_item(value):
    """The first innermost item of nested lists (`value` if not a list)."""
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return value


def _map_nested(function, value):
    """`function` applied to each item of nested lists, as lists."""
    if isinstance(value, (list, tuple)):
        return [_map_nested(function, item) for item in value]
    return function(value)


def make_example(features):
    """A `tf.train.Example` from {feature name: value or list of values}.

    str and bytes go to a bytes_list, ints and bools to an int64_list,
    floats (or ints mixed with floats) to a float_list.

    >>> example = make_example({"text": "hi", "ids": [1, 2], "w": 0.5})
    >>> example.features.feature["ids"].int64_list.value
    [1, 2]
    """
    if isinstance(features, tf.train.Example):
        return features
    if not isinstance(features, dict):
        raise TypeError(f"An example must be a dict of feature name -> "
                        f"values, got {type(features).__name__}.")
    example = tf.train.Example()
    for name, value in features.items():
        example.features.feature[name].CopyFrom(_feature(name, value))
    return example


def make_examples(examples, context):
    """(list of `tf.train.Example`s, context Example or None), checked."""
    if not isinstance(examples, (list, tuple)):
        raise TypeError("examples must be a list of dicts (or of "
                        "tf.train.Example).")
    if not examples:
        raise ValueError("examples is empty.")
    examples = [make_example(example) for example in examples]
    return examples, None if context is None else make_example(context)


def _feature(name, value):
    if isinstance(value, np.ndarray):
        values = value.reshape(-1).tolist()
    elif isinstance(value, (list, tuple)):
        values = list(value)
    else:
        values = [value]
    values = [item.item() if isinstance(item, np.generic) else item
              for item in values]
    if not values:
        return tf.train.Feature()
    if all(isinstance(item, (str, bytes)) for item in values):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[
            item.encode("utf-8") if isinstance(item, str) else item
            for item in values
        ]))
    if all(isinstance(item, int) for item in values):
        return tf.train.Feature(
            int64_list=tf.train.Int64List(value=[int(item) for item in values])
        )
    if all(isinstance(item, (int, float)) and not isinstance(item, bool)
           for item in values):
        return tf.train.Feature(
            float_list=tf.train.FloatList(value=[float(i) for i in values])
        )
    raise TypeError(
        f"Feature {name!r} must hold strings, ints or floats (not mixed), got "
        f"{sorted({type(item).__name__ for item in values})}."
    )


def example_to_json(example):
    """TF Serving's JSON for a `tf.train.Example`: {name: [values]}."""
    features = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        if kind == "bytes_list":
            values = [bytes_to_json(item) for item in feature.bytes_list.value]
        elif kind == "float_list":
            values = [float(item) for item in feature.float_list.value]
        elif kind == "int64_list":
            values = [int(item) for item in feature.int64_list.value]
        else:
            values = []
        features[name] = values
    return features
