"""numpy arrays to and from `TensorProto`s, checked as TF Serving checks them.

Strings are numpy object arrays of `bytes`. A proto whose shape and content
disagree, or that asks for an absurd number of elements, is an
INVALID_ARGUMENT error rather than an allocation that takes the server down.

>>> proto = array_to_proto(np.array([[1.5, 2.0]], np.float32))
>>> list(proto.float_val), [d.size for d in proto.tensor_shape.dim]
([1.5, 2.0], [1, 2])
>>> array_from_proto(proto).tolist()
[[1.5, 2.0]]
"""

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow.core.framework import tensor_shape_pb2
from tensorflow.core.framework import types_pb2

from serving.errors import invalid_argument

MAX_ELEMENTS = 1 << 28

# dtype enum -> (repeated field holding the values, numpy dtype)
_VALUE_FIELDS = {
    types_pb2.DT_FLOAT: ("float_val", np.float32),
    types_pb2.DT_DOUBLE: ("double_val", np.float64),
    types_pb2.DT_INT32: ("int_val", np.int32),
    types_pb2.DT_INT16: ("int_val", np.int16),
    types_pb2.DT_INT8: ("int_val", np.int8),
    types_pb2.DT_UINT8: ("int_val", np.uint8),
    types_pb2.DT_UINT16: ("int_val", np.uint16),
    types_pb2.DT_INT64: ("int64_val", np.int64),
    types_pb2.DT_UINT32: ("uint32_val", np.uint32),
    types_pb2.DT_UINT64: ("uint64_val", np.uint64),
    types_pb2.DT_BOOL: ("bool_val", np.bool_),
    types_pb2.DT_STRING: ("string_val", object),
    types_pb2.DT_HALF: ("half_val", np.float16),
}


def array_from_proto(proto, name="tensor"):
    """The numpy array a `TensorProto` describes, read as TF's
    `Tensor::FromProto` reads it (fewer values than the shape holds: the
    last one repeats; more: the rest are ignored; none: zeros or empty
    strings). INVALID_ARGUMENT "tensor parsing error" for what FromProto
    refuses (an unknown dtype, a negative dimension, tensor_content of the
    wrong size) and for more than MAX_ELEMENTS elements."""
    if proto.dtype not in _VALUE_FIELDS:
        dtype_name = types_pb2.DataType.Name(proto.dtype) if (
            proto.dtype in types_pb2.DataType.values()
        ) else f"unknown dtype enum {proto.dtype}"
        raise invalid_argument(
            f"tensor parsing error: {name}: unsupported dtype {dtype_name}"
        )
    shape = [dim.size for dim in proto.tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise invalid_argument(
            f"tensor parsing error: {name}: negative dimension in shape "
            f"{shape}"
        )
    count = int(np.prod(shape, dtype=np.float64))
    if count > MAX_ELEMENTS:
        raise invalid_argument(
            f"tensor parsing error: {name}: shape {shape} has {count} "
            f"elements, more than the {MAX_ELEMENTS} allowed"
        )
    field, numpy_dtype = _VALUE_FIELDS[proto.dtype]
    if proto.tensor_content:
        if proto.dtype == types_pb2.DT_STRING:
            return _strings_from_content(proto.tensor_content, count,
                                         name).reshape(shape)
        expected = count * np.dtype(numpy_dtype).itemsize
        if len(proto.tensor_content) != expected:
            raise invalid_argument(
                f"tensor parsing error: {name}: tensor_content has "
                f"{len(proto.tensor_content)} bytes, shape {shape} of "
                f"{types_pb2.DataType.Name(proto.dtype)} needs {expected}"
            )
        return np.frombuffer(proto.tensor_content, numpy_dtype).reshape(shape)
    values = getattr(proto, field)
    if proto.dtype == types_pb2.DT_STRING:
        strings = list(values[:count])
        if strings and len(strings) < count:
            strings += [strings[-1]] * (count - len(strings))
        array = np.empty(count, dtype=object)
        array[:] = strings if strings else [b""] * count
        return array.reshape(shape)
    if proto.dtype == types_pb2.DT_HALF:
        flat = np.array(values[:count], np.uint16).view(np.float16)
    else:
        flat = np.array(values[:count], numpy_dtype)
    if len(flat) == 0:
        return np.zeros(shape, numpy_dtype)
    if len(flat) < count:
        flat = np.concatenate([flat, np.full(count - len(flat), flat[-1])])
    return flat.reshape(shape)


def _strings_from_content(content, count, name):
    """A string tensor's tensor_content: `count` varint32 lengths, then the
    bytes (TF's EncodeStringList)."""
    lengths, position = [], 0
    try:
        for _ in range(count):
            length, shift = 0, 0
            while True:
                byte = content[position]
                position += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if byte < 0x80:
                    break
                if shift > 28:
                    raise IndexError
            lengths.append(length)
    except IndexError:
        lengths = None
    if lengths is None or position + sum(lengths) != len(content):
        raise invalid_argument(
            f"tensor parsing error: {name}: tensor_content is not an "
            f"encoded list of {count} strings"
        )
    array = np.empty(count, dtype=object)
    for index, length in enumerate(lengths):
        array[index] = bytes(content[position:position + length])
        position += length
    return array


def array_to_proto(array):
    """A `TensorProto` with values in typed fields, as TF Serving replies."""
    array = np.asarray(array)
    if array.dtype.kind in "US":
        array = np.vectorize(_as_bytes, otypes=[object])(array)
    if array.dtype == object:
        dtype = types_pb2.DT_STRING
    else:
        dtype = tf.as_dtype(array.dtype).as_datatype_enum
    if dtype not in _VALUE_FIELDS:
        raise invalid_argument(f"cannot serialize dtype {array.dtype}")
    proto = tensor_pb2.TensorProto(
        dtype=dtype,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[
                tensor_shape_pb2.TensorShapeProto.Dim(size=size)
                for size in array.shape
            ]
        ),
    )
    field = _VALUE_FIELDS[dtype][0]
    flat = array.ravel()
    if dtype == types_pb2.DT_STRING:
        getattr(proto, field).extend([_as_bytes(value) for value in flat])
    elif dtype == types_pb2.DT_HALF:
        getattr(proto, field).extend(flat.view(np.uint16).tolist())
    else:
        getattr(proto, field).extend(flat.tolist())
    return proto


def _as_bytes(value):
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)
