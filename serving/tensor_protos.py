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


def array_from_proto(proto):
    """The numpy array a `TensorProto` describes; INVALID_ARGUMENT if bad."""
    if proto.dtype not in _VALUE_FIELDS:
        raise invalid_argument(
            f"tensor parsing error: unsupported dtype "
            f"{types_pb2.DataType.Name(proto.dtype)}"
        )
    if proto.tensor_shape.unknown_rank:
        raise invalid_argument("tensor parsing error: shape has unknown rank")
    shape = [dim.size for dim in proto.tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise invalid_argument(
            f"tensor parsing error: negative dimension in shape {shape}"
        )
    count = int(np.prod(shape, dtype=np.float64))
    if count > MAX_ELEMENTS:
        raise invalid_argument(
            f"tensor parsing error: shape {shape} has {count} elements, more "
            f"than the {MAX_ELEMENTS} allowed"
        )
    field, numpy_dtype = _VALUE_FIELDS[proto.dtype]
    if proto.tensor_content:
        if proto.dtype == types_pb2.DT_STRING:
            raise invalid_argument(
                "tensor parsing error: string tensors cannot use tensor_content"
            )
        expected = count * np.dtype(numpy_dtype).itemsize
        if len(proto.tensor_content) != expected:
            raise invalid_argument(
                f"tensor parsing error: tensor_content has "
                f"{len(proto.tensor_content)} bytes, shape {shape} of "
                f"{types_pb2.DataType.Name(proto.dtype)} needs {expected}"
            )
        return np.frombuffer(proto.tensor_content, numpy_dtype).reshape(shape)
    values = getattr(proto, field)
    if len(values) > count or (len(values) == 0 and count > 0):
        raise invalid_argument(
            f"tensor parsing error: {len(values)} values in {field} for "
            f"shape {shape} ({count} elements)"
        )
    if proto.dtype == types_pb2.DT_STRING:
        if len(values) != count:
            raise invalid_argument(
                f"tensor parsing error: {len(values)} strings for shape "
                f"{shape} ({count} elements)"
            )
        array = np.empty(count, dtype=object)
        array[:] = list(values)
        return array.reshape(shape)
    if proto.dtype == types_pb2.DT_HALF:
        flat = np.array(values, np.uint16).view(np.float16)
    else:
        flat = np.array(values, numpy_dtype)
    if len(flat) < count:
        # Like TF: the last value fills the rest.
        flat = np.concatenate([flat, np.full(count - len(flat), flat[-1])])
    return flat.reshape(shape)


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
