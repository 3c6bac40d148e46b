"""TF Serving's REST JSON: request bodies to numpy, numpy to responses.

Predict requests hold either `instances` (row format: one entry per
example, an object of named inputs or a bare value when the signature has
one input) or `inputs` (columnar: an object of named inputs, or one bare
value). Strings are JSON strings or `{"b64": "..."}` for binary data.
Row requests get `{"predictions": ...}`, columnar ones `{"outputs": ...}`.
String outputs whose name ends in `_bytes`, or that are not UTF-8, come
back as `{"b64": ...}`.

>>> import numpy as np
>>> from tensorflow.core.protobuf import meta_graph_pb2
>>> signature = meta_graph_pb2.SignatureDef()
>>> signature.inputs["text"].dtype = 7  # DT_STRING
>>> inputs, rows = predict_inputs({"instances": ["hi", {"b64": "aGk="}]},
...                               signature)
>>> inputs["text"].tolist(), rows
([b'hi', b'hi'], True)
>>> predict_response({"score": np.array([0.5, 1.0], np.float32)}, rows)
{'predictions': [0.5, 1.0]}
"""

import base64
import re

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from serving.errors import ServingError
from serving.errors import invalid_argument
from serving.json_body import debug_string
from serving.json_body import json_type


def predict_inputs(body, signature):
    """({input name: numpy array}, is_row_format) from a predict body, with
    the checks and messages of json_tensor.cc's FillPredictRequestFromJson
    (every failure is INVALID_ARGUMENT)."""
    if not isinstance(body, dict):
        raise invalid_argument(f"JSON Value: {debug_string(body)} Is not object")
    tensor_infos = signature.inputs
    if not tensor_infos:
        raise invalid_argument("Failed to get input map for signature")
    if "instances" in body:
        if "inputs" in body:
            raise invalid_argument(
                f"JSON Value: {debug_string(body)} Not formatted correctly "
                f"expecting only one of 'inputs' or 'instances' keys to exist "
            )
        instances = body["instances"]
        if not isinstance(instances, list):
            raise invalid_argument(
                f"JSON Value: {debug_string(body)} Expecting 'instances' to "
                f"be an list/array"
            )
        if not instances:
            raise invalid_argument(
                f"JSON Value: {debug_string(body)} No values in 'instances' "
                f"array"
            )
        return _from_instances(instances, tensor_infos), True
    if "inputs" in body:
        return _from_inputs(body["inputs"], tensor_infos), False
    raise invalid_argument("Missing 'inputs' or 'instances' key")


def _is_b64(value):
    """A `{"b64": "..."}` object (json_tensor.cc's IsValBase64Object)."""
    return (isinstance(value, dict) and len(value) == 1
            and isinstance(value.get("b64"), str))


def _is_named(value):
    return isinstance(value, dict) and not _is_b64(value)


def _from_instances(instances, tensor_infos):
    names = sorted(tensor_infos)
    if not isinstance(instances[0], dict) and len(names) > 1:
        raise invalid_argument(
            "instances is a plain list, but expecting list of objects as "
            "multiple input tensors required as per tensorinfo_map"
        )
    if not _is_named(instances[0]):
        for index, row in enumerate(instances):
            if _is_named(row):
                raise invalid_argument(
                    f"Expecting value/list but got object at item {index} "
                    f"of input list"
                )
        name = names[0]
        return {name: _tensor(name, instances, tensor_infos[name].dtype,
                              batched=True)}
    columns = {name: [] for name in names}
    for index, row in enumerate(instances):
        if not _is_named(row):
            raise invalid_argument(
                f"Expecting object but got list at item {index} of input list"
            )
        for key in row:
            if key not in tensor_infos:
                raise invalid_argument(
                    f"Failed to process element: {index} key: {key} of "
                    f"'instances' list. Error: INVALID_ARGUMENT: JSON object: "
                    f"does not have named input: {key}"
                )
        if set(row) != set(names):
            raise invalid_argument(
                f"Failed to process element: {index} of 'instances' list. "
                f"JSON object: {debug_string(row)} keys must be equal to: "
                f"{','.join(names)}"
            )
        for name in names:
            columns[name].append(row[name])
    return {
        name: _tensor(name, column, tensor_infos[name].dtype, batched=True)
        for name, column in columns.items()
    }


def _from_inputs(value, tensor_infos):
    names = sorted(tensor_infos)
    if not _is_named(value):
        if len(names) > 1:
            raise invalid_argument(
                "inputs is a plain value/list, but expecting an object as "
                "multiple input tensors required as per tensorinfo_map"
            )
        return {names[0]: _tensor(names[0], value, tensor_infos[names[0]].dtype)}
    inputs = {}
    for name in names:  # Keys that are not inputs are ignored, as in TF Serving.
        if name not in value:
            raise invalid_argument(
                f"Missing named input: {name} in 'inputs' object."
            )
        inputs[name] = _tensor(name, value[name], tensor_infos[name].dtype)
    return inputs


def predict_response(outputs, row_format):
    """The response body for numpy `outputs`."""
    if not row_format:
        values = {name: _to_json(name, value) for name, value in outputs.items()}
        if len(values) == 1:
            return {"outputs": next(iter(values.values()))}
        return {"outputs": values}
    sizes = {name: np.shape(value)[:1] for name, value in outputs.items()}
    batch = next(iter(sizes.values()), ())
    for name, size in sizes.items():
        if size != batch or not size:
            raise invalid_argument(
                f"Tensor name: {name} has inconsistent batch size: "
                f"{size[0] if size else 0} expecting: "
                f"{batch[0] if batch else 0}"
            )
    if len(outputs) == 1:
        name, value = next(iter(outputs.items()))
        return {"predictions": _to_json(name, value)}
    rows = [
        {name: _to_json(name, value[index]) for name, value in outputs.items()}
        for index in range(batch[0])
    ]
    return {"predictions": rows}


def serialized_examples_from_json(body):
    """Serialized `tf.Example`s of a classify or regress body, checked as
    json_tensor.cc's FillClassifyRegressRequestFromJson checks them."""
    if not isinstance(body, dict):
        raise invalid_argument(f"JSON Value: {debug_string(body)} Is not object")
    signature_name = body.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise invalid_argument(
            f"JSON Value: {debug_string(body)} not formatted correctly. "
            f"'signature_name' key must be a string value."
        )
    context = b""
    if "context" in body:
        context = _example(body["context"]).SerializeToString()
    if "examples" not in body:
        raise invalid_argument(
            f"JSON Value: {debug_string(body)} When method is classify, key "
            f"'examples' is expected and was not found"
        )
    examples = body["examples"]
    if not isinstance(examples, list):
        raise invalid_argument(
            f"JSON Value: {debug_string(body)} Expecting 'examples' value to "
            f"be an list/array"
        )
    if not examples:
        raise invalid_argument(
            f"JSON Value: {debug_string(body)} 'examples' value is an empty "
            f"array"
        )
    serialized = np.empty(len(examples), dtype=object)
    for index, value in enumerate(examples):
        # Context first, then the example, as util.cc's
        # InputToSerializedExampleTensor joins them.
        serialized[index] = context + _example(value).SerializeToString()
    return serialized


def _example(value):
    """A `tf.Example` of a JSON object of features (MakeExampleFromJsonObject)."""
    if not isinstance(value, dict):
        raise invalid_argument(
            f"Example must be JSON object but got JSON {json_type(value)}"
        )
    example = tf.train.Example()
    for name, content in value.items():
        feature = example.features.feature[name]
        for item in content if isinstance(content, list) else [content]:
            _add_to_feature(feature, name, item)
    return example


def _add_to_feature(feature, name, value):
    """AddValueToFeature: the first value fixes the feature's kind."""
    kind = feature.WhichOneof("kind")

    def expect(wanted):
        if kind is not None and kind != wanted:
            raise invalid_argument(
                f"Unexpected element type in feature: {name} expecting "
                f"type: {kind.split('_')[0]}"
            )

    if value is None or isinstance(value, list) or (
        isinstance(value, dict) and not _is_b64(value)
    ):
        raise invalid_argument(
            f"Feature: {name} has element with unexpected JSON type: "
            f"{json_type(value)}"
        )
    if isinstance(value, bool):
        expect("int64_list")
        feature.int64_list.value.append(int(value))
    elif isinstance(value, dict):
        expect("bytes_list")
        feature.bytes_list.value.append(_b64_decode(value["b64"]))
    elif isinstance(value, str):
        expect("bytes_list")
        feature.bytes_list.value.append(_utf8_bytes(value))
    elif isinstance(value, float) or value < INT64_MIN or value >= UINT64_END:
        expect("float_list")  # RapidJSON holds these as doubles.
        feature.float_list.value.append(_as_float32(value))
    else:
        expect("int64_list")
        if value > INT64_MAX:
            raise invalid_argument(
                f"Feature: {name} has uint64_t element. Only int64_t is "
                f"supported."
            )
        feature.int64_list.value.append(value)


def classify_response(classes, scores, count):
    """`{"results": [[[label, score], ...], ...]}`, the key the binary writes
    (its docs say "result")."""
    result = []
    for index in range(count):
        labels = classes[index] if classes is not None else None
        values = scores[index] if scores is not None else None
        width = len(labels) if labels is not None else len(values)
        pairs = []
        for position in range(width):
            label = _text(labels[position]) if labels is not None else ""
            score = float(values[position]) if values is not None else 0.0
            pairs.append([label, score])
        result.append(pairs)
    return {"results": result}


# dtype enum -> (numpy dtype, check of one JSON value, TF's type name), as
# json_tensor.cc's AddValueToTensor accepts values for each dtype.
def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int_in(low, end):
    return lambda value: (isinstance(value, int) and not isinstance(value, bool)
                          and low <= value < end)


INT64_MIN, INT64_MAX, UINT64_END = -(1 << 63), (1 << 63) - 1, 1 << 64
_INT32 = _int_in(-(1 << 31), 1 << 31)
_LEAF_CHECKS = {
    types_pb2.DT_FLOAT: (np.float32, _number, "float"),
    types_pb2.DT_DOUBLE: (np.float64, _number, "double"),
    types_pb2.DT_INT32: (np.int32, _INT32, "int32"),
    types_pb2.DT_INT16: (np.int16, _INT32, "int16"),
    types_pb2.DT_INT8: (np.int8, _INT32, "int8"),
    types_pb2.DT_UINT8: (np.uint8, _INT32, "uint8"),
    types_pb2.DT_INT64: (np.int64, _int_in(INT64_MIN, INT64_MAX + 1), "int64"),
    types_pb2.DT_UINT32: (np.uint32, _int_in(0, 1 << 32), "uint32"),
    types_pb2.DT_UINT64: (np.uint64, _int_in(0, UINT64_END), "uint64"),
    types_pb2.DT_BOOL: (np.bool_, lambda value: isinstance(value, bool), "bool"),
    types_pb2.DT_STRING: (object, lambda value: isinstance(value, str), "string"),
}


def _tensor(name, value, dtype, batched=False):
    """The numpy array of one JSON input value for signature input `name`,
    checked as json_tensor.cc's GetDenseTensorShape / FillTensorProto do:
    the first element of each list fixes the shape, every list must match
    it, values sit only at the innermost level, and each value must have
    the input's type (a JSON number with a fraction is not an int32, a bool
    is not a number). `batched`: `value` is the list of instances."""
    if dtype not in _LEAF_CHECKS:
        raise ServingError(
            grpc.StatusCode.UNIMPLEMENTED,
            f"Conversion of JSON Value: {debug_string(value)} to type: "
            f"{types_pb2.DataType.Name(dtype)}",
        )
    numpy_dtype, accepts, type_name = _LEAF_CHECKS[dtype]
    shape = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    rank = len(shape)
    leaves = []
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, list):
            if level >= rank:
                raise _element_error(batched, item, invalid_argument(
                    f"Encountered list at unexpected level: {level} "
                    f"expected < {rank}"))
            if len(item) != shape[level]:
                raise _element_error(batched, item, invalid_argument(
                    f"Encountered list at unexpected size: {len(item)} at "
                    f"level: {level} expected size: {shape[level]}"))
            stack.extend((child, level + 1) for child in reversed(item))
            continue
        if level != rank:
            raise _element_error(batched, item, invalid_argument(
                f"JSON Value: {debug_string(item)} found at incorrect level: "
                f"{level + 1} in the JSON DOM. Expected at level: {rank}"))
        if dtype == types_pb2.DT_STRING and isinstance(item, dict):
            if not _is_b64(item):
                raise _element_error(batched, item, invalid_argument(
                    f"JSON Value: {debug_string(item)} not formatted "
                    f"correctly for base64 data"))
            leaves.append(_b64_decode(item["b64"]))
            continue
        if not accepts(item):
            raise _element_error(batched, item, invalid_argument(
                f"JSON Value: {debug_string(item)} Type: {json_type(item)} is "
                f"not of expected type: {type_name}"))
        leaves.append(_utf8_bytes(item) if dtype == types_pb2.DT_STRING
                      else item)
    if len(shape) > MAX_DIMS:
        raise invalid_argument(
            f"tensor parsing error: {name}: shape has {len(shape)} "
            f"dimensions, more than {MAX_DIMS}"
        )
    if numpy_dtype is object:
        array = np.empty(len(leaves), dtype=object)
        array[:] = leaves
    elif dtype == types_pb2.DT_FLOAT:
        with np.errstate(over="ignore"):
            array = np.array(leaves, dtype=np.float64).astype(np.float32)
    elif numpy_dtype in (np.int16, np.int8, np.uint8):
        # TF Serving stores these in int_val and narrows them (wrapping).
        array = np.array(leaves, dtype=np.int64).astype(numpy_dtype)
    else:
        array = np.array(leaves, dtype=numpy_dtype)
    return array.reshape(shape)


# TensorShape's limit (kMaxDims in tensor_shape.h): a deeper JSON value is
# a shape TF Serving's Tensor::FromProto refuses ("tensor parsing error").
MAX_DIMS = 254


def _element_error(batched, item, error):
    if not batched:
        return error
    return invalid_argument(
        f"Failed to process element of 'instances' list. Error: {error}"
    )


def _as_float32(value):
    with np.errstate(over="ignore"):
        return float(np.float32(value))


def _utf8_bytes(text):
    return text.encode("utf-8", "surrogateescape")


def _b64_decode(text):
    """absl::Base64Unescape's input: standard alphabet, padding optional."""
    data = _utf8_bytes(text)
    if re.fullmatch(rb"[A-Za-z0-9+/]*={0,2}", data) is None or (
        len(data.rstrip(b"=")) % 4 == 1
    ):
        raise invalid_argument("Unable to base64 decode")
    stripped = data.rstrip(b"=")
    try:
        return base64.b64decode(stripped + b"=" * (-len(stripped) % 4))
    except (ValueError, TypeError):
        raise invalid_argument("Unable to base64 decode") from None


def _to_json(name, value):
    value = np.asarray(value)
    if value.dtype == object or value.dtype.kind == "S":
        as_b64 = name.endswith("_bytes")
        return _map_output(value.tolist(), as_b64)
    return value.tolist()


def _map_output(value, as_b64):
    if isinstance(value, list):
        return [_map_output(item, as_b64) for item in value]
    if not as_b64:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return {"b64": base64.b64encode(value).decode("ascii")}


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else (
        str(value)
    )
