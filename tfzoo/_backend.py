"""Checks that Keras runs on TensorFlow before anything in tfzoo uses it.

Every subpackage that uses Keras imports this module first.
"""

import keras


def require_tensorflow_backend(backend=None):
    """Raises ImportError with the fix when Keras uses another backend.

    `backend` defaults to the backend Keras was configured with.
    """
    backend = backend or keras.backend.backend()
    if backend != "tensorflow":
        raise ImportError(
            f"tfzoo needs Keras' TensorFlow backend, but Keras is configured "
            f"for '{backend}'. Fix: set the environment variable "
            f"KERAS_BACKEND=tensorflow before Python starts (or before the "
            f"first `import keras`), or set \"backend\": \"tensorflow\" in "
            f"~/.keras/keras.json."
        )


require_tensorflow_backend()
