"""Checks that a SavedModel uses only ops stock TF Serving can run."""

import os

import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tf-text ops)
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

# Registered in the TensorFlow Python package but not runnable in
# tensorflow_model_server: Python callbacks, and XLA-only ops (which run
# only inside functions XLA compiles).
UNSERVABLE_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
UNSERVABLE_PREFIXES = ("Xla",)
# The FunctionDef attr of `tf.function(jit_compile=True)`.
MUST_COMPILE_ATTR = "_XlaMustCompile"


class UnservableOpError(ValueError):
    """A SavedModel uses ops that TF Serving does not have."""


def _read(export_dir):
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as file:
        proto.ParseFromString(file.read())
    return proto


def saved_model_ops(export_dir):
    """The set of op names in every graph and function of a SavedModel."""
    ops, functions = set(), set()
    for meta_graph in _read(export_dir).meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
            functions.add(function.signature.name)
    return ops - functions  # calls of library functions are not ops


def called_functions(nodes, library):
    """Names of the library functions that `nodes` call: call ops' `f`,
    loop and branch bodies, and functions called as ops."""
    names = set()
    for node in nodes:
        if node.op in library:
            names.add(node.op)
        for value in node.attr.values():
            if value.HasField("func"):
                names.add(value.func.name)
            names.update(function.name for function in value.list.func)
    return names & set(library)


def xla_compiled_functions(graph_def):
    """Functions of `graph_def`'s library that only ever run compiled.

    Those marked `_XlaMustCompile` and those they reach, less any that
    the graph or an uncompiled function also reaches without going
    through a must-compile function.
    """
    library = {f.signature.name: f for f in graph_def.library.function}
    must_compile = {
        name for name, function in library.items()
        if function.attr[MUST_COMPILE_ATTR].b
    }
    compiled = _reachable(must_compile, library, stop_at=set())
    plain = _reachable(
        called_functions(graph_def.node, library) | (set(library) - compiled),
        library, stop_at=must_compile,
    )
    return compiled - plain


def _reachable(names, library, stop_at):
    seen, stack = set(), [name for name in names if name not in stop_at]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(
            called
            for called in called_functions(library[name].node_def, library)
            if called not in stop_at
        )
    return seen


def unservable_ops(export_dir):
    """Sorted names of ops TF Serving cannot run where they appear."""
    found = set()
    for meta_graph in _read(export_dir).meta_graphs:
        graph_def = meta_graph.graph_def
        library = {f.signature.name for f in graph_def.library.function}
        compiled = xla_compiled_functions(graph_def)
        places = [(graph_def.node, False)] + [
            (function.node_def, function.signature.name in compiled)
            for function in graph_def.library.function
        ]
        for nodes, under_xla in places:
            found.update(
                node.op for node in nodes
                if node.op not in library
                and not is_servable(node.op, under_xla)
            )
    return sorted(found)


def is_servable(op_name, under_xla=False):
    """True for core TensorFlow and tf-text ops that TF Serving runs, and
    for XLA-only ops `under_xla` (in a function XLA compiles)."""
    if op_name in UNSERVABLE_OPS:
        return False
    if op_name.startswith(UNSERVABLE_PREFIXES) and not under_xla:
        return False
    return op_def_registry.get(op_name) is not None


def check_servable(export_dir):
    """Raises `UnservableOpError` naming every op TF Serving lacks.

    The servable set is the ops registered by `tensorflow` plus
    `tensorflow_text` (stock `tensorflow_model_server` links both), minus
    Python callbacks, and minus XLA-only ops except inside functions that
    run only XLA-compiled (`tf.function(jit_compile=True)` and the loops
    and calls within it).

    Example:

    >>> import tempfile, tensorflow as tf
    >>> module = tf.Module()
    >>> module.double = tf.function(
    ...     lambda x: 2 * x, input_signature=[tf.TensorSpec([None])])
    >>> path = tempfile.mkdtemp()
    >>> tf.saved_model.save(module, path)
    >>> check_servable(path)
    """
    unservable = unservable_ops(export_dir)
    if unservable:
        raise UnservableOpError(
            f"The SavedModel at {export_dir} uses ops that stock "
            f"tensorflow_model_server cannot run: {unservable}. Replace them "
            f"with core TensorFlow or tf-text ops (no tf.py_function; "
            f"XLA-only ops only inside tf.function(jit_compile=True))."
        )
