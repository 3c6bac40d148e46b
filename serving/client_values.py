"""The client's values: Python and numpy inputs, TF Serving JSON, examples.

- `as_input_array` turns an input into the numpy array to send (strings
  as object arrays of UTF-8 `bytes`, Python ints as int32, floats as
  float32); `decode_utf8` turns replied `bytes` back into `str`.
- `array_to_json` and `array_from_json` convert tensors to and from TF
  Serving's REST JSON, where binary strings are `{"b64": ...}`.
- `make_example` checks an example's features (a dict, or a
  `tf.train.Example`) and gives them as plain lists; `example_to_json`
  writes them as TF Serving's JSON (the gRPC client makes protos).
- `dtype_name` names TensorFlow's `DataType`s as TensorFlow does.

Nothing here imports TensorFlow, so REST calls run without it.

>>> array_to_json(as_input_array(["ok", b"\\xff"]))
['ok', {'b64': '/w=='}]
"""

import base64

import numpy as np


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

    `dtype` is the tensor's dtype name from the signature (as
    `dtype_name` gives: "float32", "string", ...) or None to infer it.
    Strings, and `{"b64": ...}`, become an object array of `bytes`.

    >>> array_from_json([[1.5, 2]], "float32")
    array([[1.5, 2. ]], dtype=float32)
    >>> array_from_json(["ok", {"b64": "/w=="}])
    array([b'ok', b'\\xff'], dtype=object)
    """
    first = _first_item(value)
    if (dtype == "string" or isinstance(first, str)
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
    return np.asarray(value, dtype=_numpy_dtype(dtype))


def dtype_name(data_type):
    """TensorFlow's name of a `DataType` enum name, e.g. "DT_FLOAT" ->
    "float32", "DT_STRING" -> "string" ("DT_INVALID" stays).

    >>> dtype_name("DT_HALF"), dtype_name("DT_INT64")
    ('float16', 'int64')
    """
    if data_type in _RENAMED_DTYPES:
        return _RENAMED_DTYPES[data_type]
    if data_type == "DT_INVALID" or not data_type.startswith("DT_"):
        return data_type
    return data_type[3:].lower()


_RENAMED_DTYPES = {"DT_FLOAT": "float32", "DT_DOUBLE": "float64",
                   "DT_HALF": "float16"}


def _numpy_dtype(name):
    """The numpy dtype of a TensorFlow dtype name; None when unknown."""
    if name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    try:
        return np.dtype(name) if name else None
    except TypeError:
        return None


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
    """An example's features, checked: {name: list of values}.

    `features` maps names to a value or a list of them (a
    `tf.train.Example` is read as such). The values become all `bytes`
    (from str and bytes: a bytes_list), all ints (ints and bools: an
    int64_list) or all floats (floats, or ints mixed with floats: a
    float_list).

    >>> make_example({"text": "hi", "ids": [1, 2], "w": 0.5})
    {'text': [b'hi'], 'ids': [1, 2], 'w': [0.5]}
    """
    if _is_example_proto(features):
        return {name: list(getattr(feature, feature.WhichOneof("kind")).value)
                if feature.WhichOneof("kind") else []
                for name, feature in features.features.feature.items()}
    if not isinstance(features, dict):
        raise TypeError(f"An example must be a dict of feature name -> "
                        f"values, got {type(features).__name__}.")
    return {name: _feature_values(name, value)
            for name, value in features.items()}


def make_examples(examples, context):
    """(list of examples, context example or None), as `make_example`
    gives them, checked."""
    if not isinstance(examples, (list, tuple)):
        raise TypeError("examples must be a list of dicts (or of "
                        "tf.train.Example).")
    if not examples:
        raise ValueError("examples is empty.")
    examples = [make_example(example) for example in examples]
    return examples, None if context is None else make_example(context)


def _is_example_proto(value):
    descriptor = getattr(value, "DESCRIPTOR", None)
    return getattr(descriptor, "full_name", None) == "tensorflow.Example"


def _feature_values(name, value):
    if isinstance(value, np.ndarray):
        values = value.reshape(-1).tolist()
    elif isinstance(value, (list, tuple)):
        values = list(value)
    else:
        values = [value]
    values = [item.item() if isinstance(item, np.generic) else item
              for item in values]
    if all(isinstance(item, (str, bytes)) for item in values):
        return [item.encode("utf-8") if isinstance(item, str) else item
                for item in values]
    if all(isinstance(item, int) for item in values):
        return [int(item) for item in values]
    if all(isinstance(item, (int, float)) and not isinstance(item, bool)
           for item in values):
        return [float(item) for item in values]
    raise TypeError(
        f"Feature {name!r} must hold strings, ints or floats (not mixed), got "
        f"{sorted({type(item).__name__ for item in values})}."
    )


def example_to_json(example):
    """TF Serving's JSON for an example from `make_example`:
    {name: [values]}, binary strings as `{"b64": ...}`."""
    return {name: [bytes_to_json(item) if isinstance(item, bytes) else item
                   for item in values]
            for name, values in example.items()}
