import numpy as np
import pytest
import tensorflow as tf

from tests.harness import run_layer_test
from tfzoo.layers import Dropout


def test_shared_checks_inference_is_identity():
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    output = run_layer_test(Dropout, {"rate": 0.3}, args=[x])
    np.testing.assert_array_equal(output, x)


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_drops_the_rate_and_keeps_the_expectation(rate):
    layer = Dropout(rate, seed=3)
    ones = np.ones((200, 501), "float32")  # odd size: the last half is cut
    output = layer(ones, training=True).numpy()
    dropped = np.mean(output == 0)
    assert abs(dropped - rate) < 0.01
    np.testing.assert_allclose(output[output != 0], 1 / (1 - rate), rtol=1e-4)
    assert abs(output.mean() - 1.0) < 0.02


def test_masks_differ_between_calls_and_under_xla():
    layer = Dropout(0.5, seed=1)
    x = np.ones((64, 64), "float32")
    first = layer(x, training=True).numpy()
    second = layer(x, training=True).numpy()
    assert not np.array_equal(first == 0, second == 0)
    compiled = tf.function(lambda t: layer(t, training=True), jit_compile=True)
    third = compiled(x).numpy()
    assert abs(np.mean(third == 0) - 0.5) < 0.05


def test_rejects_bad_rate():
    with pytest.raises(ValueError, match="rate"):
        Dropout(1.0)
