import pytest

from tfzoo._backend import require_tensorflow_backend


def test_tensorflow_backend_passes():
    require_tensorflow_backend()  # the suite runs on TensorFlow
    require_tensorflow_backend("tensorflow")


@pytest.mark.parametrize("backend", ["jax", "torch", "numpy"])
def test_other_backends_fail_with_the_fix(backend):
    with pytest.raises(ImportError) as error:
        require_tensorflow_backend(backend)
    message = str(error.value)
    assert f"configured for '{backend}'" in message
    assert "KERAS_BACKEND=tensorflow" in message
    assert "keras.json" in message
