"""One loaded SavedModel version, run the way TF Serving runs it.

`Servable.predict(signature_name, inputs, output_filter)` takes numpy inputs
by name and returns numpy outputs by name, with TF Serving's checks and
messages: an unknown signature is FAILED_PRECONDITION; missing or extra
inputs, a wrong dtype or a bad shape are INVALID_ARGUMENT. `classify` and
`regress` run `tensorflow/serving/classify` and `.../regress` signatures
on serialized `tf.Example`s (an unknown or wrong signature there is
INVALID_ARGUMENT, as in classifier.cc and regressor.cc).

A signature that needs XLA (it calls a `tf.function(jit_compile=True)`)
runs only when `xla_compilation_enabled`; otherwise it is INTERNAL "XLA
compilation disabled", as in `tensorflow_model_server` without
`--xla_cpu_compilation_enabled`, and the other signatures keep serving.
"""

import functools
import logging
import os
import threading

import grpc
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tf-text ops models use)
from tensorflow.core.protobuf import saved_model_pb2

from serving.batching import Batcher
from serving.errors import ServingError
from serving.errors import failed_precondition
from serving.errors import invalid_argument
from serving.xla_signatures import xla_signatures

DEFAULT_SIGNATURE = "serving_default"
DRAIN_SECONDS = 60
log = logging.getLogger("serving")
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"


class Servable:
    """A SavedModel directory, loaded with its signatures."""

    def __init__(self, path, batching_parameters=None,
                 xla_compilation_enabled=False):
        self.path = path
        meta_graph = _read_serve_meta_graph(path)
        self.signature_defs = dict(meta_graph.signature_def)
        self.xla_signatures = xla_signatures(meta_graph)
        self.xla_compilation_enabled = xla_compilation_enabled
        self._model = tf.saved_model.load(path, tags=["serve"])
        self._functions = dict(self._model.signatures)
        self._users = 0
        self._idle = threading.Condition()
        self._batchers = {}
        if batching_parameters is not None:
            self._batchers = {
                name: Batcher(
                    functools.partial(self._execute, name),
                    batching_parameters,
                )
                for name in self._functions
            }

    def acquire(self):
        """Counts a request that will run this servable (see close)."""
        with self._idle:
            self._users += 1

    def release(self):
        with self._idle:
            self._users -= 1
            if self._users == 0:
                self._idle.notify_all()

    def close(self, drain_seconds=DRAIN_SECONDS):
        """Stops the batching threads once the requests that acquired this
        servable are done (waiting at most `drain_seconds`), so unloading a
        version never fails a request already routed to it, as TF Serving's
        servable handles keep a version alive until released."""
        with self._idle:
            drained = self._idle.wait_for(lambda: self._users == 0,
                                          timeout=drain_seconds)
        if not drained:
            log.warning("Closing %s with %d requests still running",
                        self.path, self._users)
        for batcher in self._batchers.values():
            batcher.close()

    def signature(self, name):
        name = name or DEFAULT_SIGNATURE
        if name not in self.signature_defs or name not in self._functions:
            raise failed_precondition(
                f'Serving signature key "{name}" not found.'
            )
        return name, self.signature_defs[name]

    def predict(self, signature_name, inputs, output_filter=()):
        name, signature = self.signature(signature_name)
        if signature.method_name not in (
            PREDICT_METHOD, CLASSIFY_METHOD, REGRESS_METHOD
        ):
            raise ServingError(
                grpc.StatusCode.INTERNAL,
                f"Expected prediction signature method_name to be one of "
                f"{{{PREDICT_METHOD}, {CLASSIFY_METHOD}, {REGRESS_METHOD}}}. "
                f"Was: {signature.method_name}",
            )
        _check_input_names(signature, inputs)
        outputs = _check_output_filter(signature, output_filter)
        results = self.run(name, inputs)
        return {alias: results[alias] for alias in outputs}

    def run(self, name, inputs):
        """Calls signature `name` on numpy inputs, batched if enabled."""
        signature = self.signature_defs[name]
        inputs = {
            alias: _checked_input(alias, value, signature.inputs[alias].dtype)
            for alias, value in inputs.items()
        }
        if name in self.xla_signatures and not self.xla_compilation_enabled:
            raise ServingError(
                grpc.StatusCode.INTERNAL,
                f"XLA compilation disabled: signature \"{name}\" runs an "
                f"XLA-compiled (jit_compile) function. Start the server with "
                f"--xla_cpu_compilation_enabled=true, or use a signature "
                f"without XLA.",
            )
        if name in self._batchers:
            return self._batchers[name](inputs)
        return self._execute(name, inputs)

    def _execute(self, name, inputs):
        signature = self.signature_defs[name]
        tensors = {
            alias: tf.constant(value, signature.inputs[alias].dtype)
            for alias, value in inputs.items()
        }
        try:
            results = self._functions[name](**tensors)
        except tf.errors.OpError as error:
            raise ServingError(_code_of(error), error.message) from None
        except (TypeError, ValueError) as error:
            raise invalid_argument(str(error)) from None
        return {alias: value.numpy() for alias, value in results.items()}

    def classify(self, signature_name, serialized_examples):
        """(classes [batch, k] bytes or None, scores [batch, k] or None)."""
        name, signature = self._example_signature(
            signature_name, CLASSIFY_METHOD, "classification"
        )
        outputs = self.run(name, {_only_input(signature): serialized_examples})
        classes = outputs.get("classes")
        scores = outputs.get("scores")
        if classes is None and scores is None:
            raise invalid_argument(
                "Expected classification signature outputs to contain at "
                "least one of \"classes\" and \"scores\"."
            )
        return classes, scores

    def regress(self, signature_name, serialized_examples):
        """Regression outputs, one float per example."""
        name, signature = self._example_signature(
            signature_name, REGRESS_METHOD, "regression"
        )
        outputs = self.run(name, {_only_input(signature): serialized_examples})
        if "outputs" not in outputs:
            raise invalid_argument(
                "Expected regression signature outputs to contain \"outputs\"."
            )
        return np.reshape(outputs["outputs"], [len(serialized_examples)])

    def _example_signature(self, signature_name, method, kind):
        # classifier.cc / regressor.cc: both errors are INVALID_ARGUMENT.
        name = signature_name or DEFAULT_SIGNATURE
        if name not in self.signature_defs or name not in self._functions:
            raise invalid_argument(
                f"No signature was found with the name: {name}"
            )
        signature = self.signature_defs[name]
        if signature.method_name != method:
            raise invalid_argument(
                f"Expected {kind} signature method_name to be {method}. "
                f"Was: {signature.method_name}"
            )
        return name, signature


def _read_serve_meta_graph(path):
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as file:
        proto.ParseFromString(file.read())
    for meta_graph in proto.meta_graphs:
        if "serve" in meta_graph.meta_info_def.tags:
            return meta_graph
    raise ValueError(f"{path} has no MetaGraph tagged 'serve'.")


def _check_input_names(signature, inputs):
    sent, expected = set(inputs), set(signature.inputs)
    if sent != expected:
        raise invalid_argument(
            f"input size does not match signature: {len(sent)}!="
            f"{len(expected)} len({{{','.join(sorted(sent))}}}) != "
            f"len({{{','.join(sorted(expected))}}}). Sent extra: "
            f"{{{','.join(sorted(sent - expected))}}}. Missing but required: "
            f"{{{','.join(sorted(expected - sent))}}}."
        )


def _check_output_filter(signature, output_filter):
    if not output_filter:
        return list(signature.outputs)
    seen = set()
    for alias in output_filter:
        if alias not in signature.outputs:
            raise invalid_argument(
                f"output tensor alias not found in signature: {alias} "
                f"Outputs expected to be in the set "
                f"{{{','.join(sorted(signature.outputs))}}}."
            )
        if alias in seen:
            raise invalid_argument(f"duplicate output tensor alias: {alias}")
        seen.add(alias)
    return list(output_filter)


def _only_input(signature):
    if len(signature.inputs) != 1:
        raise invalid_argument(
            f"Expected one input tensor, found {len(signature.inputs)}."
        )
    return next(iter(signature.inputs))


def _checked_input(alias, value, dtype_enum):
    expected = tf.dtypes.as_dtype(dtype_enum)
    value = np.asarray(value)
    is_text = value.dtype.kind in "OSU"
    if expected == tf.string and is_text:
        return value.astype(object)
    if not is_text and expected != tf.string and (
        value.dtype == expected.as_numpy_dtype
    ):
        return value
    actual = "string" if is_text else tf.as_dtype(value.dtype).name
    raise invalid_argument(
        f"Expects arg {alias!r} to be {expected.name} but {actual} is provided"
    )


def _code_of(error):
    for code in grpc.StatusCode:
        if code.value[0] == error.error_code:
            return code
    return grpc.StatusCode.UNKNOWN
