"""A small shared harness: every layer and model gets the same checks.

`run_layer_test` and `run_model_test` check config and `.keras` round trips,
weights-only round trips, XLA against eager execution, and mixed precision.
`run_cached_decoding_test` checks that decoding over a key/value cache
(a prompt, then one position at a time) equals one full forward pass.
`run_task_test` checks a task through its preprocessor: raw data through
`fit` and `predict`, and a `.keras` round trip that keeps the
preprocessor and predicts the same.
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

XLA_TOLERANCE = 1e-5


@keras.saving.register_keras_serializable(package="tfzoo_tests")
class LayerHarnessModel(keras.Model):
    """Wraps one layer so it can be saved as a `.keras` file.

    `inputs` is a dict: "args" (list of tensors passed positionally) and
    "kwargs" (dict of tensors passed by name). `call_kwargs` holds the
    non-tensor call arguments.
    """

    def __init__(self, layer, call_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer
        self.call_kwargs = dict(call_kwargs or {})

    def call(self, inputs):
        return self.layer(
            *inputs["args"], **inputs["kwargs"], **self.call_kwargs
        )

    def get_config(self):
        return {
            "layer": keras.layers.serialize(self.layer),
            "call_kwargs": self.call_kwargs,
        }

    @classmethod
    def from_config(cls, config):
        layer = keras.layers.deserialize(config.pop("layer"))
        return cls(layer, **config)


def to_numpy(structure):
    return tf.nest.map_structure(lambda t: np.asarray(t), structure)


def assert_all_close(actual, expected, atol=1e-6, rtol=1e-6):
    tf.nest.map_structure(
        lambda a, e: np.testing.assert_allclose(
            np.asarray(a, "float64"), np.asarray(e, "float64"), atol=atol,
            rtol=rtol,
        ),
        actual,
        expected,
    )


def _saved_and_loaded(model):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        return keras.saving.load_model(path)


def _weights_round_trip(model, fresh_model):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.weights.h5")
        model.save_weights(path)
        fresh_model.load_weights(path)
    return fresh_model


def run_layer_test(
    layer_cls,
    init_kwargs,
    args,
    kwargs=None,
    call_kwargs=None,
    expected_output_shape=None,
    check_mixed_precision=True,
):
    """Runs the shared checks on one layer class; returns its output."""
    kwargs = kwargs or {}
    call_kwargs = call_kwargs or {}
    inputs = {"args": list(args), "kwargs": dict(kwargs)}

    layer = layer_cls(**init_kwargs)
    model = LayerHarnessModel(layer, call_kwargs)
    output = to_numpy(model(inputs))
    if expected_output_shape is not None:
        shapes = tf.nest.map_structure(lambda t: tuple(t.shape), output)
        assert shapes == expected_output_shape, shapes

    # get_config / from_config round trip, same weights, same output.
    config = layer.get_config()
    rebuilt = layer_cls.from_config(config)
    assert rebuilt.get_config() == config
    rebuilt_model = LayerHarnessModel(rebuilt, call_kwargs)
    rebuilt_model(inputs)
    rebuilt.set_weights(layer.get_weights())
    assert_all_close(rebuilt_model(inputs), output)

    # .keras file round trip.
    assert_all_close(_saved_and_loaded(model)(inputs), output)

    # XLA and eager agree.
    compiled = tf.function(lambda x: model(x), jit_compile=True)
    assert_all_close(compiled(inputs), output, atol=XLA_TOLERANCE,
                     rtol=XLA_TOLERANCE)

    if check_mixed_precision:
        run_mixed_precision_check(layer_cls, init_kwargs, inputs, call_kwargs)
    return output


def run_mixed_precision_check(layer_cls, init_kwargs, inputs, call_kwargs):
    """Under mixed_bfloat16: float32 variables, finite low-precision output."""
    layer = layer_cls(**init_kwargs, dtype="mixed_bfloat16")
    output = LayerHarnessModel(layer, call_kwargs)(inputs)
    for variable in layer.weights:
        assert variable.dtype == "float32", variable.path
    for tensor in tf.nest.flatten(output):
        if tensor.dtype.is_floating:
            assert tensor.dtype in (tf.bfloat16, tf.float32), tensor.dtype
            assert np.all(np.isfinite(np.asarray(tensor, "float32")))
    for sublayer in layer._flatten_layers():
        if isinstance(sublayer, keras.layers.LayerNormalization):
            # Keras' LayerNormalization upcasts to float32 internally.
            assert sublayer.variable_dtype == "float32"


def run_model_test(model_fn, inputs):
    """Shared checks for a backbone or task built by `model_fn()`."""
    model = model_fn()
    output = to_numpy(model(inputs))

    config = model.get_config()
    rebuilt = type(model).from_config(config)
    rebuilt(inputs)
    rebuilt.set_weights(model.get_weights())
    assert_all_close(rebuilt(inputs), output)

    assert_all_close(_saved_and_loaded(model)(inputs), output)

    fresh = model_fn()
    before = tf.nest.flatten(to_numpy(fresh(inputs)))[0]
    assert not np.allclose(before, tf.nest.flatten(output)[0]), (
        "a freshly built model should differ before loading weights"
    )
    assert_all_close(_weights_round_trip(model, fresh)(inputs), output)

    compiled = tf.function(lambda x: model(x), jit_compile=True)
    assert_all_close(compiled(inputs), output, atol=XLA_TOLERANCE,
                     rtol=XLA_TOLERANCE)
    return output


def run_task_test(model, x, y, batch_size=2):
    """Shared checks for a task built with a preprocessor (raw `x`, `y`).

    One epoch of `fit` changes the predictions and gives a finite loss;
    the `.keras` file keeps the preprocessor (same config) and predicts
    the same on raw data.
    """
    assert model.preprocessor is not None, "build the task with one"
    before = to_numpy(model.predict(x, batch_size=batch_size, verbose=0))
    # Eager steps: the XLA step has its own tests, and this stays quick.
    model.compile(learning_rate=1e-2, jit_compile=False)
    history = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    trained = to_numpy(model.predict(x, batch_size=batch_size, verbose=0))
    assert any(
        not np.allclose(b, t)
        for b, t in zip(tf.nest.flatten(before), tf.nest.flatten(trained))
        if np.asarray(b).dtype.kind == "f"
    ), "fit did not change the predictions"

    loaded = _saved_and_loaded(model)
    assert type(loaded.preprocessor) is type(model.preprocessor)
    assert loaded.preprocessor.get_config() == model.preprocessor.get_config()
    assert_all_close(
        loaded.predict(x, batch_size=batch_size, verbose=0), trained,
        atol=1e-5, rtol=1e-5,
    )
    return loaded


def run_cached_decoding_test(
    forward,
    step,
    inputs,
    cache,
    prompt_length=1,
    jit_compile=False,
    cache_length_axis=2,
    atol=1e-5,
):
    """Asserts that cached decoding equals a full forward pass.

    Runs `step(inputs[:, :prompt_length], cache, 0)` (the prompt), then
    `step(inputs[:, i:i + 1], cache, i)` for each later position `i`,
    each call returning `(output, cache)`, and compares the concatenated
    outputs with `forward(inputs)`. Eagerly with Python int indices, or,
    with `jit_compile`, as one XLA-compiled `tf.function` with int32
    tensor indices.

    `cache` (any nest of tensors) may be longer than `inputs` along
    `cache_length_axis`: the slots past the decoded length must not change
    the outputs and must still be zero at the end, and every decoded
    position must have been written. Returns the final cache.
    """
    length = inputs.shape[1]
    assert 1 <= prompt_length <= length, (prompt_length, length)
    expected = to_numpy(forward(inputs))
    index = int
    if jit_compile:
        step = tf.function(step, jit_compile=True)
        index = lambda i: tf.constant(i, "int32")  # noqa: E731
    output, cache = step(inputs[:, :prompt_length], cache, index(0))
    assert output.shape[1] == prompt_length, output.shape
    outputs = [np.asarray(output)]
    for position in range(prompt_length, length):
        output, cache = step(inputs[:, position:position + 1], cache,
                             index(position))
        assert output.shape[1] == 1, output.shape
        outputs.append(np.asarray(output))
    decoded = np.concatenate(outputs, axis=1)
    assert decoded.shape == expected.shape, (decoded.shape, expected.shape)
    assert_all_close(decoded, expected, atol=atol, rtol=atol)

    for tensor in tf.nest.flatten(cache):
        tensor = np.moveaxis(np.asarray(tensor, "float32"),
                             cache_length_axis, 0)
        assert tensor.shape[0] >= length, tensor.shape
        assert np.all(tensor[length:] == 0), "slots past the decoded length"
        written = np.abs(tensor[:length]).reshape(length, -1).sum(-1)
        assert np.all(written > 0), "a decoded position was not written"
    return cache
