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
