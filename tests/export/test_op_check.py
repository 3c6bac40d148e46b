import pytest
import tensorflow as tf

from tfzoo.export import UnservableOpError, check_servable
from tfzoo.export.op_check import saved_model_ops


def save(function, tmp_path):
    module = tf.Module()
    module.call = tf.function(
        function, input_signature=[tf.TensorSpec([None], tf.float32)]
    )
    path = str(tmp_path)
    tf.saved_model.save(module, path)
    return path


def test_core_ops_pass(tmp_path):
    path = save(lambda x: tf.nn.softmax(x * 2.0), tmp_path)
    assert "Softmax" in saved_model_ops(path)
    check_servable(path)


def test_python_callbacks_are_named(tmp_path):
    path = save(
        lambda x: tf.py_function(lambda a: a * 2, [x], tf.float32), tmp_path
    )
    with pytest.raises(UnservableOpError, match=r"\['EagerPyFunc'\]"):
        check_servable(path)


def xla_write(x):
    """An XLA-only op (XlaDynamicUpdateSlice) inside a while loop."""
    from tensorflow.compiler.tf2xla.python import xla

    def step(index, x):
        update = tf.ones([1], x.dtype)
        return index + 1, xla.dynamic_update_slice(x, update, [index])

    return tf.while_loop(lambda index, x: index < tf.size(x), step,
                         (tf.constant(0), x))[1]


def test_xla_only_ops_pass_inside_jit_compile_functions(tmp_path):
    compiled = tf.function(xla_write, jit_compile=True, autograph=False)
    path = save(lambda x: 2.0 * compiled(x), tmp_path)
    assert "XlaDynamicUpdateSlice" in saved_model_ops(path)
    check_servable(path)


def test_xla_only_ops_are_named_outside_jit_compile_functions(tmp_path):
    path = save(xla_write, tmp_path)
    with pytest.raises(UnservableOpError,
                       match=r"\['XlaDynamicUpdateSlice'\]"):
        check_servable(path)


def test_a_body_also_reached_without_xla_is_named(tmp_path):
    """One function called both from a jit_compile function and from a
    plain one runs uncompiled in the second."""
    shared = tf.function(xla_write, autograph=False)
    compiled = tf.function(lambda x: shared(x), jit_compile=True,
                           autograph=False)
    path = save(lambda x: compiled(x) + shared(x), tmp_path)
    with pytest.raises(UnservableOpError,
                       match=r"\['XlaDynamicUpdateSlice'\]"):
        check_servable(path)
