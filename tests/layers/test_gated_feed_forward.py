import numpy as np
import pytest
import tensorflow as tf

from tests.harness import run_layer_test
from tfzoo.layers import GatedFeedForward

HIDDEN, INTERMEDIATE = 8, 12


def sequence(seed=0):
    return tf.random.stateless_normal((2, 5, HIDDEN), (seed, 7))


def silu(x):
    return x / (1.0 + np.exp(-x))


def numpy_swiglu(x, gate_up_kernel, output_kernel, gate_up_bias=None,
                 output_bias=None, activation=silu):
    """`(act(x W_gate + b_gate) * (x W_up + b_up)) W_out + b_out`."""
    x = np.asarray(x, "float64")
    gate = x @ gate_up_kernel[:, 0]
    up = x @ gate_up_kernel[:, 1]
    if gate_up_bias is not None:
        gate, up = gate + gate_up_bias[0], up + gate_up_bias[1]
    out = (activation(gate) * up) @ output_kernel
    return out if output_bias is None else out + output_bias


@pytest.mark.parametrize("use_bias", [False, True])
def test_shared_checks(use_bias):
    run_layer_test(
        GatedFeedForward, {"intermediate_dim": INTERMEDIATE,
                           "use_bias": use_bias},
        args=[sequence()], expected_output_shape=(2, 5, HIDDEN),
    )


def randomise(layer, seed=0):
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(rng.normal(0, 0.5, variable.shape).astype("float32"))
    return [np.asarray(v, "float64") for v in layer.weights]


def test_equals_numpy_swiglu():
    layer = GatedFeedForward(INTERMEDIATE)
    x = sequence()
    layer(x)
    gate_up_kernel, output_kernel = randomise(layer)
    np.testing.assert_allclose(
        layer(x).numpy(), numpy_swiglu(x, gate_up_kernel, output_kernel),
        rtol=1e-4, atol=1e-5,
    )


def test_equals_numpy_swiglu_with_biases():
    layer = GatedFeedForward(INTERMEDIATE, use_bias=True)
    x = sequence()
    layer(x)
    weights = dict(zip([v.name for v in layer.weights], randomise(layer, 1)))
    expected = numpy_swiglu(
        x, weights["gate_up_kernel"], weights["output_kernel"],
        weights["gate_up_bias"], weights["output_bias"],
    )
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-4,
                               atol=1e-5)


def test_other_activation_and_rank_two_inputs():
    layer = GatedFeedForward(INTERMEDIATE, activation="relu")
    x = sequence()[0]  # [length, hidden]
    layer(x)
    gate_up_kernel, output_kernel = randomise(layer, 2)
    expected = numpy_swiglu(x, gate_up_kernel, output_kernel,
                            activation=lambda v: np.maximum(v, 0.0))
    out = layer(x).numpy()
    assert out.shape == (5, HIDDEN)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_weight_shapes():
    layer = GatedFeedForward(INTERMEDIATE, use_bias=True)
    layer(sequence())
    assert {v.name: tuple(v.shape) for v in layer.weights} == {
        "gate_up_kernel": (HIDDEN, 2, INTERMEDIATE),
        "output_kernel": (INTERMEDIATE, HIDDEN),
        "gate_up_bias": (2, INTERMEDIATE),
        "output_bias": (HIDDEN,),
    }


def test_dropout_only_in_training():
    layer = GatedFeedForward(INTERMEDIATE, dropout=0.5)
    x = sequence()
    inference = layer(x).numpy()
    plain = GatedFeedForward(INTERMEDIATE)
    plain(x)
    plain.set_weights(layer.get_weights()[:len(plain.get_weights())])
    np.testing.assert_allclose(inference, plain(x).numpy(), atol=1e-6)
    assert not np.allclose(layer(x, training=True).numpy(), inference)
    assert GatedFeedForward.from_config(layer.get_config()).dropout == 0.5
