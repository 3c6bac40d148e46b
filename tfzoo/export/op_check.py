"""Checks that a SavedModel uses only ops stock TF Serving can run."""

import os

import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tf-text ops)
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

# Registered in the TensorFlow Python package but not runnable in
# tensorflow_model_server: Python callbacks, and XLA-only ops.
UNSERVABLE_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
UNSERVABLE_PREFIXES = ("Xla",)


class UnservableOpError(ValueError):
    """A SavedModel uses ops that TF Serving does not have."""


def saved_model_ops(export_dir):
    """The set of op names in every graph and function of a SavedModel."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as file:
        proto.ParseFromString(file.read())
    ops, functions = set(), set()
    for meta_graph in proto.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
            functions.add(function.signature.name)
    return ops - functions  # calls of library functions are not ops


def is_servable(op_name):
    """True for core TensorFlow and tf-text ops that TF Serving runs."""
    if op_name in UNSERVABLE_OPS or op_name.startswith(UNSERVABLE_PREFIXES):
        return False
    return op_def_registry.get(op_name) is not None


def check_servable(export_dir):
    """Raises `UnservableOpError` naming every op TF Serving lacks.

    The servable set is the ops registered by `tensorflow` plus
    `tensorflow_text` (stock `tensorflow_model_server` links both), minus
    Python callbacks and XLA-only ops.

    Example:

    >>> import tempfile, tensorflow as tf
    >>> module = tf.Module()
    >>> module.double = tf.function(
    ...     lambda x: 2 * x, input_signature=[tf.TensorSpec([None])])
    >>> path = tempfile.mkdtemp()
    >>> tf.saved_model.save(module, path)
    >>> check_servable(path)
    """
    unservable = sorted(op for op in saved_model_ops(export_dir)
                        if not is_servable(op))
    if unservable:
        raise UnservableOpError(
            f"The SavedModel at {export_dir} uses ops that stock "
            f"tensorflow_model_server cannot run: {unservable}. Replace them "
            f"with core TensorFlow or tf-text ops (no tf.py_function, no "
            f"XLA-only ops in serving graphs)."
        )
