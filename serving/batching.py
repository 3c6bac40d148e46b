"""Server-side request batching, configured like TF Serving's.

`--enable_batching` merges concurrent requests to one signature into one
call, concatenating inputs along the batch dimension and splitting outputs
back. `--batching_parameters_file` is TF Serving's text-format
`BatchingParameters`, for example::

    max_batch_size { value: 32 }
    batch_timeout_micros { value: 2000 }
    num_batch_threads { value: 2 }
    max_enqueued_batches { value: 100 }
    allowed_batch_sizes: 8
    allowed_batch_sizes: 32

A batch closes when it is full, or `batch_timeout_micros` after its first
request. With `allowed_batch_sizes`, a batch is padded (with copies of its
first row) up to the next allowed size, so each size compiles once.
"""

import collections
import threading
import time

import grpc
import numpy as np
from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import message_factory
from google.protobuf import text_format
from google.protobuf import wrappers_pb2

from serving.errors import ServingError
from serving.errors import invalid_argument

_WRAPPED_INT_FIELDS = [
    "max_batch_size", "batch_timeout_micros", "max_enqueued_batches",
    "num_batch_threads", "max_execution_batch_size",
]


def _batching_parameters_class():
    """TF Serving's `BatchingParameters` message, for its text format."""
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(
        descriptor_pb2.FileDescriptorProto.FromString(
            wrappers_pb2.DESCRIPTOR.serialized_pb
        ).SerializeToString()
    )
    file = descriptor_pb2.FileDescriptorProto(
        name="tfzoo_serving_batching.proto",
        package="tensorflow.serving",
        dependency=["google/protobuf/wrappers.proto"],
        syntax="proto3",
    )
    message = file.message_type.add(name="BatchingParameters")
    Field = descriptor_pb2.FieldDescriptorProto
    number = 0

    def add(name, kind, type_name=None, repeated=False):
        nonlocal number
        number += 1
        message.field.add(
            name=name, number=number, type=kind, type_name=type_name,
            label=Field.LABEL_REPEATED if repeated else Field.LABEL_OPTIONAL,
        )

    for name in _WRAPPED_INT_FIELDS:
        add(name, Field.TYPE_MESSAGE, ".google.protobuf.Int64Value")
    add("thread_pool_name", Field.TYPE_MESSAGE, ".google.protobuf.StringValue")
    add("allowed_batch_sizes", Field.TYPE_INT64, repeated=True)
    add("pad_variable_length_inputs", Field.TYPE_BOOL)
    add("enable_large_batch_splitting", Field.TYPE_MESSAGE,
        ".google.protobuf.BoolValue")
    pool.Add(file)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")
    )


BatchingParametersProto = _batching_parameters_class()


class BatchingParameters:
    """Batching settings, defaulting as TF Serving does."""

    def __init__(self, max_batch_size=1000, batch_timeout_micros=0,
                 num_batch_threads=2, max_enqueued_batches=10,
                 allowed_batch_sizes=()):
        self.max_batch_size = max_batch_size
        self.batch_timeout_micros = batch_timeout_micros
        self.num_batch_threads = num_batch_threads
        self.max_enqueued_batches = max_enqueued_batches
        self.allowed_batch_sizes = sorted(allowed_batch_sizes)
        if self.allowed_batch_sizes and (
            self.allowed_batch_sizes[-1] != max_batch_size
        ):
            raise ValueError(
                f"The largest allowed_batch_sizes entry "
                f"({self.allowed_batch_sizes[-1]}) must equal max_batch_size "
                f"({max_batch_size})."
            )

    @classmethod
    def from_text(cls, text):
        """Parses text-format `BatchingParameters`."""
        proto = text_format.Parse(text, BatchingParametersProto())
        values = {
            name: getattr(proto, name).value
            for name in _WRAPPED_INT_FIELDS
            if proto.HasField(name) and name != "max_execution_batch_size"
        }
        return cls(allowed_batch_sizes=list(proto.allowed_batch_sizes),
                   **values)

    @classmethod
    def from_file(cls, path):
        with open(path) as file:
            return cls.from_text(file.read())


class _Task:
    def __init__(self, inputs, rows):
        self.inputs = inputs
        self.rows = rows
        self.key = tuple(
            (name, value.dtype.kind, value.shape[1:])
            for name, value in sorted(inputs.items())
        )
        self.done = threading.Event()
        self.result = None
        self.error = None


class Batcher:
    """Batches calls of `execute(inputs) -> outputs` for one signature."""

    def __init__(self, execute, parameters):
        self.execute = execute
        self.parameters = parameters
        self.queue = collections.deque()
        self.queued_rows = 0
        self.condition = threading.Condition()
        self.closed = False
        self.threads = [
            threading.Thread(target=self._loop, daemon=True)
            for _ in range(max(parameters.num_batch_threads, 1))
        ]
        for thread in self.threads:
            thread.start()

    def __call__(self, inputs):
        rows = _rows(inputs)
        limit = self.parameters.max_batch_size
        if rows > limit:
            raise invalid_argument(
                f"Task size {rows} is larger than maximum input batch size "
                f"{limit}"
            )
        task = _Task(inputs, rows)
        with self.condition:
            capacity = limit * self.parameters.max_enqueued_batches
            if self.closed or self.queued_rows + rows > capacity:
                raise ServingError(
                    grpc.StatusCode.UNAVAILABLE,
                    "The batch scheduling queue to which this task was "
                    "submitted is full",
                )
            self.queue.append(task)
            self.queued_rows += rows
            self.condition.notify()
        task.done.wait()
        if task.error is not None:
            raise task.error
        return task.result

    def close(self):
        with self.condition:
            self.closed = True
            self.condition.notify_all()

    def _loop(self):
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._run(batch)

    def _next_batch(self):
        timeout = self.parameters.batch_timeout_micros / 1e6
        limit = self.parameters.max_batch_size
        with self.condition:
            while not self.queue:
                if self.closed:
                    return None
                self.condition.wait()
            batch = [self.queue.popleft()]
            rows = batch[0].rows
            deadline = time.monotonic() + timeout
            while rows < limit:
                for task in list(self.queue):
                    if task.key == batch[0].key and rows + task.rows <= limit:
                        self.queue.remove(task)
                        batch.append(task)
                        rows += task.rows
                remaining = deadline - time.monotonic()
                if rows >= limit or remaining <= 0:
                    break
                self.condition.wait(remaining)
            self.queued_rows -= rows
            return batch

    def _run(self, batch):
        rows = sum(task.rows for task in batch)
        size = next(
            (allowed for allowed in self.parameters.allowed_batch_sizes
             if allowed >= rows),
            rows,
        )
        inputs = {}
        for name in batch[0].inputs:
            parts = [task.inputs[name] for task in batch]
            if size > rows:
                parts.append(np.repeat(parts[0][:1], size - rows, axis=0))
            inputs[name] = np.concatenate(parts, axis=0)
        try:
            outputs = self.execute(inputs)
            for name, value in outputs.items():
                if np.ndim(value) == 0 or value.shape[0] != size:
                    raise ServingError(
                        grpc.StatusCode.FAILED_PRECONDITION,
                        f"Batched output tensor {name!r} has 0th dimension "
                        f"{np.shape(value)[:1]}, not the batch size {size}; "
                        f"this signature cannot be batched.",
                    )
        except Exception as error:  # noqa: BLE001  (handed to each caller)
            for task in batch:
                task.error = error
                task.done.set()
            return
        start = 0
        for task in batch:
            task.result = {
                name: value[start:start + task.rows]
                for name, value in outputs.items()
            }
            start += task.rows
            task.done.set()


def _rows(inputs):
    sizes = set()
    for name, value in inputs.items():
        if np.ndim(value) == 0:
            raise invalid_argument(
                f"Batching Run() requires all input tensors to have at least "
                f"one dimension; {name!r} is a scalar"
            )
        sizes.add(np.shape(value)[0])
    if len(sizes) != 1:
        raise invalid_argument(
            "Batching Run() input tensors must have equal 0th-dimension size"
        )
    return sizes.pop()
