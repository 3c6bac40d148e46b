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

import numpy as np
import tensorflow as tf

from serving.errors import invalid_argument


def predict_inputs(body, signature):
    """({input name: numpy array}, is_row_format) from a predict body."""
    if not isinstance(body, dict):
        raise invalid_argument("JSON Value: request body must be an object.")
    if ("instances" in body) == ("inputs" in body):
        raise invalid_argument(
            "JSON Value: Not formatted correctly, expecting only one of "
            "'inputs' or 'instances' keys exists"
        )
    names = sorted(signature.inputs)
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise invalid_argument(
                "'instances' must be a non-empty JSON list"
            )
        if all(_is_named(row) for row in instances):
            columns = {}
            for index, row in enumerate(instances):
                if set(row) != set(instances[0]):
                    raise invalid_argument(
                        f"Failed to process element: {index} of 'instances' "
                        f"list. JSON object: {row} keys differ from the "
                        f"first element's: {sorted(instances[0])}"
                    )
                for name, value in row.items():
                    columns.setdefault(name, []).append(value)
        else:
            columns = {_only_name(names, "instances"): instances}
        return _converted(columns, signature), True
    inputs = body["inputs"]
    if _is_named(inputs):
        columns = inputs
    else:
        columns = {_only_name(names, "inputs"): inputs}
    return _converted(columns, signature), False


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
    """Serialized `tf.Example`s of a classify or regress body."""
    if not isinstance(body, dict):
        raise invalid_argument("JSON Value: request body must be an object.")
    examples = body.get("examples")
    if not isinstance(examples, list) or not examples:
        raise invalid_argument("'examples' must be a non-empty JSON list")
    context = body.get("context", {})
    if not isinstance(context, dict):
        raise invalid_argument("'context' must be a JSON object")
    serialized = np.empty(len(examples), dtype=object)
    for index, example in enumerate(examples):
        if not isinstance(example, dict):
            raise invalid_argument(
                f"Failed to process element: {index} of 'examples' list: "
                f"each example must be a JSON object of features"
            )
        features = {**context, **example}
        proto = tf.train.Example()
        for name, value in features.items():
            _set_feature(proto.features.feature[name], name, value)
        serialized[index] = proto.SerializeToString()
    return serialized


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


def _set_feature(feature, name, value):
    values = value if isinstance(value, list) else [value]
    if all(isinstance(item, bool) or isinstance(item, int) for item in values):
        feature.int64_list.value.extend(int(item) for item in values)
    elif all(isinstance(item, (int, float)) for item in values):
        feature.float_list.value.extend(float(item) for item in values)
    elif all(isinstance(item, (str, dict)) for item in values):
        feature.bytes_list.value.extend(_bytes(item, name) for item in values)
    else:
        raise invalid_argument(
            f"Feature {name!r}: values must all be numbers or all be "
            f"strings, got {value!r}"
        )


def _is_named(value):
    return isinstance(value, dict) and set(value) != {"b64"}


def _only_name(names, key):
    if len(names) != 1:
        raise invalid_argument(
            f"'{key}' is a plain list, but expecting list of objects as "
            f"multiple input tensors required as per tensorinfo_map: "
            f"{{{','.join(names)}}}"
        )
    return names[0]


def _converted(columns, signature):
    inputs = {}
    for name, value in columns.items():
        if name not in signature.inputs:
            # Left for the servable's check, which names extra and missing.
            inputs[name] = np.asarray([])
            continue
        dtype = tf.dtypes.as_dtype(signature.inputs[name].dtype)
        inputs[name] = _array(name, value, dtype)
    return inputs


def _array(name, value, dtype):
    try:
        if dtype == tf.string:
            array = np.array(_map_strings(value, name), dtype=object)
            shape = _shape(value)
            if array.shape != shape:
                array = np.empty(shape, dtype=object)
                array[...] = _map_strings(value, name)
            return array
        array = np.array(value)
        if array.dtype.kind in "OUS":
            raise ValueError("not all numbers, or rows of unequal length")
        return array.astype(dtype.as_numpy_dtype)
    except (ValueError, TypeError) as error:
        raise invalid_argument(
            f"Input {name!r}: cannot convert JSON value to a "
            f"{dtype.name} tensor: {error}"
        ) from None


def _shape(value):
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        lengths = {len(item) if isinstance(item, list) else -1
                   for item in value}
        if len(lengths) != 1:
            raise ValueError("rows of unequal length")
        value = value[0]
    return tuple(shape)


def _map_strings(value, name):
    if isinstance(value, list):
        return [_map_strings(item, name) for item in value]
    return _bytes(value, name)


def _bytes(value, name):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and set(value) == {"b64"}:
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (ValueError, TypeError):
            raise invalid_argument(
                f"Input {name!r}: 'b64' value is not valid base64"
            ) from None
    raise invalid_argument(
        f"Input {name!r}: expected a string or {{\"b64\": ...}}, got "
        f"{value!r}"
    )


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
