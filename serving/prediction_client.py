"""`PredictionClient`: what the gRPC and REST clients share.

Argument checks, model selection (version or label), retries with
exponential backoff, and turning replies into plain Python values. A
subclass sends the requests: `_predict`, `_classify`, `_regress`,
`_metadata` and `_status`, each raising `ServingError` on failure and
returning plain values (`_metadata` and `_status` as
`get_model_metadata` and `get_model_status` do). No TensorFlow here: the
REST client runs without it.
"""

import time

import grpc

from serving.client_values import as_input_array
from serving.client_values import decode_utf8
from serving.client_values import make_examples
from serving.errors import CODE_NUMBER
from serving.errors import ServingError

DEFAULT_SIGNATURE = "serving_default"

_CODE_NAMES = {number: code.name for code, number in CODE_NUMBER.items()}


class PredictionClient:
    """What both clients share: model selection, retries, conversions.

    Use a subclass: `GrpcPredictionClient` or `RestPredictionClient`.

    Args:
        model_name: the model's name on the server.
        version: a version number to use, or
        version_label: a version label (e.g. "stable"); not both. Neither
            means the server's choice (the latest version).
        timeout: deadline of each attempt, in seconds.
        max_attempts: attempts in all when the server is UNAVAILABLE.
        initial_backoff, max_backoff: sleep before the first retry, and the
            cap as it doubles, in seconds.
        decode_strings: return string outputs as `str` (default) or `bytes`.
    """

    def __init__(self, model_name, *, version=None, version_label=None,
                 timeout=30.0, max_attempts=4, initial_backoff=0.1,
                 max_backoff=2.0, decode_strings=True):
        if not model_name or not isinstance(model_name, str):
            raise ValueError(f"model_name must be a non-empty string, got "
                             f"{model_name!r}.")
        if version is not None and version_label is not None:
            raise ValueError(
                f"Pass either version ({version!r}) or version_label "
                f"({version_label!r}), not both."
            )
        if version is not None:
            if isinstance(version, bool) or not str(version).isdigit():
                raise ValueError(f"version must be a non-negative integer, "
                                 f"got {version!r}.")
            version = int(version)
        if version_label is not None and (
            not isinstance(version_label, str) or not version_label
        ):
            raise ValueError(f"version_label must be a non-empty string, "
                             f"got {version_label!r}.")
        if int(max_attempts) < 1:
            raise ValueError(f"max_attempts must be at least 1, got "
                             f"{max_attempts!r}.")
        self.model_name = model_name
        self.version = version
        self.version_label = version_label
        self.timeout = timeout
        self.max_attempts = int(max_attempts)
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.decode_strings = decode_strings

    def predict(self, inputs, signature_name=DEFAULT_SIGNATURE,
                output_filter=None, timeout=None):
        """Runs a Predict signature; returns {output name: numpy array}.

        `output_filter` (a name or list of names) asks for some outputs
        only; over REST, which has no such field, the others are dropped
        on arrival.
        """
        if not isinstance(inputs, dict) or not inputs:
            raise ValueError("inputs must be a non-empty dict of name -> "
                             "values.")
        arrays = {name: as_input_array(value, name)
                  for name, value in inputs.items()}
        if isinstance(output_filter, str):
            output_filter = [output_filter]
        output_filter = list(output_filter or [])
        outputs = self._with_retries(lambda: self._predict(
            arrays, signature_name, output_filter, self._deadline(timeout)
        ))
        return {name: self._finish(outputs[name]) for name in sorted(outputs)}

    def classify(self, examples, signature_name=DEFAULT_SIGNATURE,
                 context=None, timeout=None):
        """Runs a Classify signature on `tf.Example`s.

        `examples` is a list of dicts feature name -> str, bytes, int,
        float or a list of them (or of `tf.train.Example`s); `context`,
        one more such dict, holds features shared by all examples. Returns,
        per example, a list of (label, score) pairs: label a `str` ("" when
        the signature has no classes), score a float.
        """
        examples, context = make_examples(examples, context)
        return self._with_retries(lambda: self._classify(
            examples, context, signature_name, self._deadline(timeout)
        ))

    def regress(self, examples, signature_name=DEFAULT_SIGNATURE,
                context=None, timeout=None):
        """Runs a Regress signature on examples (as in `classify`).

        Returns a float32 numpy array with one value per example.
        """
        examples, context = make_examples(examples, context)
        return self._with_retries(lambda: self._regress(
            examples, context, signature_name, self._deadline(timeout)
        ))

    def get_model_metadata(self, timeout=None):
        """The model's signatures, as plain Python values:

        `{"model_spec": {"name": str, "version": int or None},
          "signature_def": {signature name: {"method_name": str,
              "inputs": {name: {"dtype": "float32", "shape": [-1, 2]}},
              "outputs": {...}}}}`; a shape of unknown rank is None.
        """
        return self._with_retries(
            lambda: self._metadata(self._deadline(timeout))
        )

    def get_model_status(self, timeout=None):
        """The state of each version the server knows, lowest first:

        `[{"version": 1, "state": "AVAILABLE", "error_code": "OK",
           "error_message": ""}]`.
        """
        versions = self._with_retries(
            lambda: self._status(self._deadline(timeout))
        )
        return sorted(versions, key=lambda status: status["version"])

    def close(self):
        """Releases the connection."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _deadline(self, timeout):
        return self.timeout if timeout is None else timeout

    def _with_retries(self, send):
        """`send()`, retried with exponential backoff while UNAVAILABLE."""
        backoff = self.initial_backoff
        for attempt in range(1, self.max_attempts + 1):
            try:
                return send()
            except ServingError as error:
                if error.code != grpc.StatusCode.UNAVAILABLE:
                    raise
                if attempt == self.max_attempts:
                    if attempt == 1:
                        raise
                    raise ServingError(
                        error.code,
                        f"{error.message} (gave up after {attempt} attempts)",
                    ) from None
            time.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    def _finish(self, array):
        if self.decode_strings and array.dtype == object:
            return decode_utf8(array)
        return array


def code_name(code):
    """The name of a `tensorflow.error.Code` (a number, or already a
    name), e.g. "NOT_FOUND"."""
    return code if isinstance(code, str) else _CODE_NAMES.get(code, str(code))
