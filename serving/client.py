"""A client for models served by TensorFlow Serving, over gRPC or REST.

Works with `tensorflow_model_server` and with `python -m serving.server`.
`GrpcPredictionClient` talks to the gRPC port (8500 by default),
`RestPredictionClient` to the REST port (8501); both have the methods of
`PredictionClient`:

>>> client = GrpcPredictionClient("classifier", port=8500)  # doctest: +SKIP
>>> client.predict({"text": ["It broke after a day!"]})  # doctest: +SKIP
{'label_ids': array([0], dtype=int32),
 'label_names': array(['negative'], dtype=object),
 'logits': array([[ 1.2, -0.9]], dtype=float32),
 'probabilities': array([[0.89, 0.11]], dtype=float32)}
>>> client.classify([{"text": "The staff were lovely."}],
...                 signature_name="classify")  # doctest: +SKIP
[[('negative', 0.03), ('positive', 0.97)]]

Conventions:

- Inputs map names to a string, bytes, a (nested) list of them, a (nested)
  list of numbers, or a numpy array. Numpy arrays are sent with their
  dtype; Python ints become int32 and floats float32 (as in `tf.constant`),
  so pass a numpy array when the signature wants another dtype. `str` is
  sent as UTF-8.
- Outputs are a dict of name -> numpy array. String tensors are numpy
  object arrays of `str` (UTF-8 decoded); an element that is not valid
  UTF-8 stays `bytes`. Pass `decode_strings=False` to get `bytes` always.
- Over REST, inputs that are not valid UTF-8 travel as `{"b64": ...}`;
  replies get the dtypes the model's metadata declares (fetched once per
  client), so both protocols return the same arrays.
- Every failure the server or the network reports raises `ServingError`
  (`serving.errors`) with `.code`, a `grpc.StatusCode`, and `.message`.
  Over REST the code comes from the HTTP status as in `serving.errors`
  (TF Serving sends 400 for INVALID_ARGUMENT, FAILED_PRECONDITION and
  OUT_OF_RANGE alike, so 400 reads as INVALID_ARGUMENT unless the message
  starts with another code's name, as in "FAILED_PRECONDITION: ...");
  refused or dropped connections are UNAVAILABLE and a timeout is
  DEADLINE_EXCEEDED. Wrong arguments raise `ValueError`/`TypeError`
  before anything is sent.
- UNAVAILABLE is retried up to `max_attempts` times in all, sleeping
  `initial_backoff` seconds, then twice as long each time (at most
  `max_backoff`). Other errors are not retried. `timeout` is the deadline
  of each attempt.

Command line (prints one line per output, or JSON with `--json`):

    python -m serving.client --model classifier --text "Great!" --text "Bad."
    python -m serving.client --model classifier --protocol rest --status
"""

if __name__ == "__main__":
    # Run as a command: TensorFlow's C++ logs a few lines to fd 2 while it
    # is imported (whatever TF_CPP_MIN_LOG_LEVEL says); keep them out of
    # the output. A failing import still shows its traceback.
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _stderr_fd = os.dup(2)
    try:
        _null_fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(_null_fd, 2)
        os.close(_null_fd)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(_stderr_fd, 2)
        os.close(_stderr_fd)

import argparse
import base64
import json
import sys
import time
import urllib.parse

import grpc
import numpy as np
import requests
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import classification_pb2
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import input_pb2
from tensorflow_serving.apis import model_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc
from tensorflow_serving.apis import regression_pb2

from serving.errors import ServingError

DEFAULT_SIGNATURE = "serving_default"
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


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
        examples, context = _examples_and_context(examples, context)
        return self._with_retries(lambda: self._classify(
            examples, context, signature_name, self._deadline(timeout)
        ))

    def regress(self, examples, signature_name=DEFAULT_SIGNATURE,
                context=None, timeout=None):
        """Runs a Regress signature on examples (as in `classify`).

        Returns a float32 numpy array with one value per example.
        """
        examples, context = _examples_and_context(examples, context)
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
        spec, signature_defs = self._with_retries(
            lambda: self._metadata(self._deadline(timeout))
        )
        return {
            "model_spec": {
                "name": spec.name,
                "version": spec.version.value if spec.HasField("version")
                else None,
            },
            "signature_def": {
                name: _describe_signature(signature_defs[name])
                for name in sorted(signature_defs)
            },
        }

    def get_model_status(self, timeout=None):
        """The state of each version the server knows, lowest first:

        `[{"version": 1, "state": "AVAILABLE", "error_code": "OK",
           "error_message": ""}]`.
        """
        response = self._with_retries(
            lambda: self._status(self._deadline(timeout))
        )
        states = get_model_status_pb2.ModelVersionStatus.State
        return [
            {
                "version": int(status.version),
                "state": states.Name(status.state),
                "error_code": _error_code_name(status.status.error_code),
                "error_message": status.status.error_message,
            }
            for status in sorted(response.model_version_status,
                                 key=lambda status: status.version)
        ]

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

    def _model_spec(self, signature_name=""):
        spec = model_pb2.ModelSpec(name=self.model_name,
                                   signature_name=signature_name)
        if self.version is not None:
            spec.version.value = self.version
        if self.version_label is not None:
            spec.version_label = self.version_label
        return spec


class GrpcPredictionClient(PredictionClient):
    """A `PredictionClient` for TF Serving's gRPC API.

    Args (besides `PredictionClient`'s):
        host, port: the server's gRPC address.
        max_message_bytes: largest request and reply (default 64 MiB;
            gRPC's own default is 4 MiB).
        credentials: `grpc.ChannelCredentials` for TLS; None for plain text.
        channel_options: more `(key, value)` gRPC channel options.
    """

    def __init__(self, model_name, host="localhost", port=8500, *,
                 max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES,
                 credentials=None, channel_options=(), **kwargs):
        super().__init__(model_name, **kwargs)
        self.target = f"{host}:{port}"
        options = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            # Reconnect as fast as we retry, not after gRPC's default 1 s+.
            ("grpc.initial_reconnect_backoff_ms",
             max(1, int(self.initial_backoff * 1000))),
            ("grpc.min_reconnect_backoff_ms",
             max(1, int(self.initial_backoff * 1000))),
            ("grpc.max_reconnect_backoff_ms",
             max(1, int(self.max_backoff * 1000))),
            *channel_options,
        ]
        if credentials is None:
            self._channel = grpc.insecure_channel(self.target, options)
        else:
            self._channel = grpc.secure_channel(self.target, credentials,
                                                options)
        self._prediction = prediction_service_pb2_grpc.PredictionServiceStub(
            self._channel
        )
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def _call(self, method, request, timeout):
        try:
            return method(request, timeout=timeout)
        except grpc.RpcError as error:
            raise ServingError(error.code(), error.details() or "") from None

    def _predict(self, arrays, signature_name, output_filter, timeout):
        request = predict_pb2.PredictRequest(
            model_spec=self._model_spec(signature_name),
            output_filter=output_filter,
        )
        for name, array in arrays.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(array))
        response = self._call(self._prediction.Predict, request, timeout)
        return {name: tf.make_ndarray(tensor)
                for name, tensor in response.outputs.items()}

    def _classify(self, examples, context, signature_name, timeout):
        request = classification_pb2.ClassificationRequest(
            model_spec=self._model_spec(signature_name),
            input=_input_proto(examples, context),
        )
        response = self._call(self._prediction.Classify, request, timeout)
        return [
            [(item.label, _float32(item.score)) for item in result.classes]
            for result in response.result.classifications
        ]

    def _regress(self, examples, context, signature_name, timeout):
        request = regression_pb2.RegressionRequest(
            model_spec=self._model_spec(signature_name),
            input=_input_proto(examples, context),
        )
        response = self._call(self._prediction.Regress, request, timeout)
        return np.array([item.value for item in response.result.regressions],
                        np.float32)

    def _metadata(self, timeout):
        request = get_model_metadata_pb2.GetModelMetadataRequest(
            model_spec=self._model_spec(), metadata_field=["signature_def"]
        )
        response = self._call(self._prediction.GetModelMetadata, request,
                              timeout)
        signature_defs = get_model_metadata_pb2.SignatureDefMap()
        if "signature_def" in response.metadata:
            response.metadata["signature_def"].Unpack(signature_defs)
        return response.model_spec, dict(signature_defs.signature_def)

    def _status(self, timeout):
        request = get_model_status_pb2.GetModelStatusRequest(
            model_spec=self._model_spec()
        )
        return self._call(self._models.GetModelStatus, request, timeout)


class RestPredictionClient(PredictionClient):
    """A `PredictionClient` for TF Serving's REST API.

    Args (besides `PredictionClient`'s):
        url: the server's REST address, e.g. "http://localhost:8501".
        session: a `requests.Session` to use (for headers, TLS, proxies).
    """

    def __init__(self, model_name, url="http://localhost:8501", *,
                 session=None, **kwargs):
        super().__init__(model_name, **kwargs)
        self.url = url.rstrip("/")
        self._session = session or requests.Session()
        self._signature_defs = None

    def close(self):
        self._session.close()

    def _model_url(self, suffix=""):
        path = "/v1/models/" + urllib.parse.quote(self.model_name, safe="")
        if self.version is not None:
            path += f"/versions/{self.version}"
        elif self.version_label is not None:
            path += "/labels/" + urllib.parse.quote(self.version_label,
                                                    safe="")
        return self.url + path + suffix

    def _request(self, method, url, body, timeout):
        """The JSON reply to one HTTP request; ServingError on failure."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        try:
            response = self._session.request(
                method, url, data=data, timeout=timeout,
                headers={"Content-Type": "application/json"},
            )
        except requests.ConnectTimeout as error:
            raise ServingError(grpc.StatusCode.UNAVAILABLE,
                               f"cannot connect to {url}: {error}") from None
        except requests.Timeout:
            raise ServingError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"no reply from {url} within {timeout} s",
            ) from None
        except requests.ConnectionError as error:
            raise ServingError(grpc.StatusCode.UNAVAILABLE,
                               f"cannot connect to {url}: {error}") from None
        except requests.RequestException as error:
            raise ServingError(grpc.StatusCode.UNKNOWN,
                               f"{method} {url} failed: {error}") from None
        try:
            # surrogateescape keeps strings that are not UTF-8 (TF Serving
            # writes string tensors raw) as bytes we can recover.
            reply = json.loads(response.content.decode("utf-8",
                                                       "surrogateescape"))
        except ValueError:
            reply = None
        if response.status_code != 200:
            if isinstance(reply, dict) and isinstance(reply.get("error"),
                                                      str):
                message = _text(reply["error"])
            else:
                message = (response.text.strip()[:500]
                           or f"HTTP {response.status_code} "
                              f"{response.reason} from {url}")
            raise error_from_http(response.status_code, message)
        if not isinstance(reply, dict):
            raise ServingError(grpc.StatusCode.INTERNAL,
                               f"reply from {url} is not a JSON object")
        return reply

    def _predict(self, arrays, signature_name, output_filter, timeout):
        body = {
            "signature_name": signature_name,
            "inputs": {name: array_to_json(array)
                       for name, array in arrays.items()},
        }
        reply = self._request("POST", self._model_url(":predict"), body,
                              timeout)
        if "outputs" not in reply:
            raise ServingError(grpc.StatusCode.INTERNAL,
                               f"reply has no 'outputs': {str(reply)[:200]}")
        signature = self._signature_def(signature_name)
        outputs = _named_outputs(reply["outputs"], signature)
        for alias in output_filter:
            if alias not in outputs:
                raise ServingError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"output tensor alias not found in signature: {alias} "
                    f"Outputs expected to be in the set "
                    f"{{{','.join(sorted(outputs))}}}.",
                )
        if output_filter:
            outputs = {alias: outputs[alias] for alias in output_filter}
        dtypes = {}
        if signature is not None:
            dtypes = {alias: info.dtype
                      for alias, info in signature.outputs.items()}
        return {name: array_from_json(value, dtypes.get(name))
                for name, value in outputs.items()}

    def _classify(self, examples, context, signature_name, timeout):
        reply = self._request(
            "POST", self._model_url(":classify"),
            _examples_json(examples, context, signature_name), timeout,
        )
        return [
            [_label_and_score(item) for item in result]
            for result in _results(reply)
        ]

    def _regress(self, examples, context, signature_name, timeout):
        reply = self._request(
            "POST", self._model_url(":regress"),
            _examples_json(examples, context, signature_name), timeout,
        )
        return np.array(_results(reply), np.float32).reshape([-1])

    def _metadata(self, timeout):
        reply = self._request("GET", self._model_url("/metadata"), None,
                              timeout)
        spec = json_format.ParseDict(reply.get("model_spec", {}),
                                     model_pb2.ModelSpec(),
                                     ignore_unknown_fields=True)
        signature_defs = json_format.ParseDict(
            reply.get("metadata", {}).get("signature_def", {}),
            get_model_metadata_pb2.SignatureDefMap(),
            ignore_unknown_fields=True,
        )
        return spec, dict(signature_defs.signature_def)

    def _status(self, timeout):
        reply = self._request("GET", self._model_url(), None, timeout)
        return json_format.ParseDict(
            reply, get_model_status_pb2.GetModelStatusResponse(),
            ignore_unknown_fields=True,
        )

    def _signature_def(self, signature_name):
        """The SignatureDef, from metadata fetched once; None if unknown."""
        if self._signature_defs is None:
            try:
                _, self._signature_defs = self._metadata(self.timeout)
            except ServingError:
                return None
        return self._signature_defs.get(signature_name or DEFAULT_SIGNATURE)


def error_from_http(http_status, message):
    """The `ServingError` for an HTTP error status and TF Serving message.

    >>> error_from_http(404, "Servable not found").code.name
    'NOT_FOUND'
    >>> error_from_http(400, "FAILED_PRECONDITION: no signature").code.name
    'FAILED_PRECONDITION'
    """
    error = ServingError.from_http(http_status, message)
    named, _, rest = message.partition(":")
    code = getattr(grpc.StatusCode, named.strip(), None)
    if (isinstance(code, grpc.StatusCode) and rest
            and ServingError(code, "").http_status == http_status):
        return ServingError(code, rest.strip())
    return error


def as_input_array(value, name="input"):
    """A numpy array ready to send: strings become object arrays of bytes.

    >>> as_input_array("héllo")
    array(b'h\\xc3\\xa9llo', dtype=object)
    >>> as_input_array([[1, 2]]).dtype, as_input_array([0.5]).dtype
    (dtype('int32'), dtype('float32'))
    """
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind in "SU" or array.dtype == object:
            return _strings_array(array.tolist(), name)
        return array
    if _has_strings(value):
        return _strings_array(value, name)
    try:
        array = np.asarray(value)
    except ValueError as error:
        raise ValueError(f"Input {name!r} is not a rectangular array of "
                         f"numbers: {error}") from None
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    if array.dtype.kind in "iu":
        if array.size and (array.min() < -2**31 or array.max() >= 2**31):
            raise ValueError(
                f"Input {name!r} has ints beyond int32; pass a numpy array "
                f"of the dtype the model expects (e.g. np.int64)."
            )
        return array.astype(np.int32)
    if array.dtype.kind == "b":
        return array
    raise TypeError(f"Input {name!r}: cannot send values of type "
                    f"{array.dtype} ({str(value)[:80]}).")


def _has_strings(value):
    if isinstance(value, (str, bytes)):
        return True
    if isinstance(value, (list, tuple)) and value:
        return _has_strings(value[0])
    return False


def _strings_array(value, name):
    def encode(item):
        if isinstance(item, (list, tuple)):
            return [encode(element) for element in item]
        if isinstance(item, str):
            return item.encode("utf-8")
        if isinstance(item, bytes):
            return item
        raise TypeError(f"Input {name!r} mixes strings with "
                        f"{type(item).__name__} values.")

    array = np.array(encode(value), dtype=object)
    if any(isinstance(item, list) for item in array.flat):
        raise ValueError(f"Input {name!r} is not a rectangular array of "
                         f"strings.")
    return array


def decode_utf8(array):
    """An object array with UTF-8 `bytes` decoded to `str` (others kept)."""
    result = np.empty(array.shape, dtype=object)
    flat = result.reshape(-1)
    for index, item in enumerate(array.reshape(-1)):
        if isinstance(item, bytes):
            try:
                item = item.decode("utf-8")
            except UnicodeDecodeError:
                pass
        flat[index] = item
    return result


def array_to_json(array):
    """TF Serving's JSON for a tensor: lists, with `{"b64": ...}` binary.

    >>> array_to_json(np.array([b"ok", b"\\xff"], dtype=object))
    ['ok', {'b64': '/w=='}]
    """
    if array.dtype != object:
        return array.tolist()

    def convert(item):
        if isinstance(item, list):
            return [convert(element) for element in item]
        return _json_string(item)

    return convert(array.tolist())


def _json_string(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode("ascii")}


def array_from_json(value, dtype=None):
    """A numpy array from TF Serving's JSON for a tensor.

    `dtype` is the tensor's `DataType` enum (from the signature) or None
    to infer it. Strings, and `{"b64": ...}`, become an object array of
    `bytes`.

    >>> array_from_json([[1.5, 2]], types_pb2.DT_FLOAT)
    array([[1.5, 2. ]], dtype=float32)
    >>> array_from_json(["ok", {"b64": "/w=="}])
    array([b'ok', b'\\xff'], dtype=object)
    """
    if dtype == types_pb2.DT_STRING or _has_json_strings(value):
        def convert(item):
            if isinstance(item, list):
                return [convert(element) for element in item]
            if isinstance(item, dict) and set(item) == {"b64"}:
                return base64.b64decode(item["b64"])
            if isinstance(item, str):
                return _raw_bytes(item)
            raise ValueError(f"expected a string in a string tensor, got "
                             f"{item!r}")

        converted = convert(value)
        shape = np.array(converted, dtype=object).shape
        array = np.empty(shape, dtype=object)
        array[...] = converted
        return array
    if dtype is None or dtype == types_pb2.DT_INVALID:
        return np.asarray(value)
    return np.asarray(value, dtype=tf.as_dtype(dtype).as_numpy_dtype)


def _has_json_strings(value):
    while isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, str) or (isinstance(value, dict)
                                      and set(value) == {"b64"})


def _raw_bytes(text):
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _named_outputs(outputs, signature):
    """{name: JSON value} from a columnar reply, which drops the name of
    a lone output."""
    names = sorted(signature.outputs) if signature is not None else None
    if names is not None and len(names) == 1:
        return {names[0]: outputs}
    if isinstance(outputs, dict) and set(outputs) != {"b64"}:
        return outputs
    return {(names or ["outputs"])[0]: outputs}


def make_example(features):
    """A `tf.train.Example` from {feature name: value or list of values}.

    str and bytes go to a bytes_list, ints and bools to an int64_list,
    floats (or ints mixed with floats) to a float_list.

    >>> example = make_example({"text": "hi", "ids": [1, 2], "w": 0.5})
    >>> example.features.feature["ids"].int64_list.value
    [1, 2]
    """
    if isinstance(features, tf.train.Example):
        return features
    if not isinstance(features, dict):
        raise TypeError(f"An example must be a dict of feature name -> "
                        f"values, got {type(features).__name__}.")
    example = tf.train.Example()
    for name, value in features.items():
        example.features.feature[name].CopyFrom(_feature(name, value))
    return example


def _feature(name, value):
    if isinstance(value, np.ndarray):
        values = value.reshape(-1).tolist()
    elif isinstance(value, (list, tuple)):
        values = list(value)
    else:
        values = [value]
    values = [item.item() if isinstance(item, np.generic) else item
              for item in values]
    if not values:
        return tf.train.Feature()
    if all(isinstance(item, (str, bytes)) for item in values):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[
            item.encode("utf-8") if isinstance(item, str) else item
            for item in values
        ]))
    if all(isinstance(item, int) for item in values):
        return tf.train.Feature(
            int64_list=tf.train.Int64List(value=[int(item) for item in values])
        )
    if all(isinstance(item, (int, float)) and not isinstance(item, bool)
           for item in values):
        return tf.train.Feature(
            float_list=tf.train.FloatList(value=[float(i) for i in values])
        )
    raise TypeError(
        f"Feature {name!r} must hold strings, ints or floats (not mixed), got "
        f"{sorted({type(item).__name__ for item in values})}."
    )


def _examples_and_context(examples, context):
    if isinstance(examples, (dict, tf.train.Example)) or not isinstance(
        examples, (list, tuple)
    ):
        raise TypeError("examples must be a list of dicts (or of "
                        "tf.train.Example).")
    if not examples:
        raise ValueError("examples is empty.")
    examples = [make_example(example) for example in examples]
    return examples, None if context is None else make_example(context)


def _input_proto(examples, context):
    if context is None:
        return input_pb2.Input(
            example_list=input_pb2.ExampleList(examples=examples)
        )
    return input_pb2.Input(
        example_list_with_context=input_pb2.ExampleListWithContext(
            examples=examples, context=context
        )
    )


def example_to_json(example):
    """TF Serving's JSON for a `tf.train.Example`: {name: [values]}."""
    features = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        if kind == "bytes_list":
            values = [_json_string(item) for item in feature.bytes_list.value]
        elif kind == "float_list":
            values = [float(item) for item in feature.float_list.value]
        elif kind == "int64_list":
            values = [int(item) for item in feature.int64_list.value]
        else:
            values = []
        features[name] = values
    return features


def _examples_json(examples, context, signature_name):
    body = {
        "signature_name": signature_name,
        "examples": [example_to_json(example) for example in examples],
    }
    if context is not None:
        body["context"] = example_to_json(context)
    return body


def _results(reply):
    # tensorflow_model_server replies "results"; its docs say "result".
    for key in ("results", "result"):
        if key in reply:
            return reply[key]
    raise ServingError(grpc.StatusCode.INTERNAL,
                       f"reply has no 'results': {str(reply)[:200]}")


def _text(json_string):
    """A JSON string as printable text (bytes not UTF-8 replaced)."""
    return _raw_bytes(json_string).decode("utf-8", "replace")


def _label_and_score(item):
    if isinstance(item, list) and len(item) == 2:
        return _text(item[0]), _float32(item[1])
    if isinstance(item, list) and len(item) == 1:
        return "", _float32(item[0])
    return "", _float32(item)


def _float32(value):
    """The same Python float for a float32 score from gRPC or JSON."""
    return float(np.float32(value))


def _describe_signature(signature):
    return {
        "method_name": signature.method_name,
        "inputs": {name: _describe_tensor(signature.inputs[name])
                   for name in sorted(signature.inputs)},
        "outputs": {name: _describe_tensor(signature.outputs[name])
                    for name in sorted(signature.outputs)},
    }


def _describe_tensor(info):
    try:
        dtype = tf.as_dtype(info.dtype).name
    except TypeError:
        dtype = types_pb2.DataType.Name(info.dtype)
    shape = None
    if info.HasField("tensor_shape") and not info.tensor_shape.unknown_rank:
        shape = [dim.size for dim in info.tensor_shape.dim]
    return {"dtype": dtype, "shape": shape}


def _error_code_name(number):
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code.name
    return str(number)


# Command line.


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m serving.client",
        description="Calls a model served by TensorFlow Serving.",
    )
    parser.add_argument("--model", required=True, help="model name")
    parser.add_argument("--text", action="append", default=[],
                        help="input text; repeat for a batch")
    parser.add_argument("--text_pair", action="append", default=[],
                        help="second text of each pair; repeat like --text")
    parser.add_argument("--input", action="append", default=[],
                        metavar="NAME=VALUE",
                        help="another input; VALUE is JSON or else a string; "
                             "repeat a NAME to make a list")
    parser.add_argument("--output_filter", action="append", default=[],
                        metavar="NAME", help="only this output (repeatable)")
    parser.add_argument("--classify", action="store_true",
                        help="call Classify on examples with --text (and "
                             "--text_pair) features; tfzoo exports name "
                             "that signature 'classify' (--signature)")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8500, help="gRPC port")
    parser.add_argument("--rest_port", type=int, default=8501)
    parser.add_argument("--protocol", choices=["grpc", "rest"],
                        default="grpc")
    parser.add_argument("--signature", default=DEFAULT_SIGNATURE)
    versions = parser.add_mutually_exclusive_group()
    versions.add_argument("--version", type=int)
    versions.add_argument("--version_label")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds per attempt")
    parser.add_argument("--status", action="store_true",
                        help="print the model's version states")
    parser.add_argument("--metadata", action="store_true",
                        help="print the model's signatures")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if args.text_pair and len(args.text_pair) != len(args.text):
        parser.error(f"got {len(args.text_pair)} --text_pair for "
                     f"{len(args.text)} --text")
    if args.classify and not args.text:
        parser.error("--classify needs --text")
    if not (args.text or args.input or args.status or args.metadata):
        parser.error("nothing to do: pass --text, --input, --status or "
                     "--metadata")
    return args


def _cli_inputs(args):
    inputs = {}
    if args.text:
        inputs["text"] = args.text
    if args.text_pair:
        inputs["text_pair"] = args.text_pair
    values = {}
    for item in args.input:
        name, equals, text = item.partition("=")
        if not equals or not name:
            raise ValueError(f"--input wants NAME=VALUE, got {item!r}")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        values.setdefault(name, []).append(value)
    for name, items in values.items():
        inputs[name] = items[0] if len(items) == 1 else items
    return inputs


def _jsonable(value):
    """Plain JSON values; floats as their shortest float32 decimal."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            floats = [float(str(item)) for item in value.reshape(-1)]
            return np.array(floats, dtype=object).reshape(value.shape).tolist()
        return _jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return _json_string(value)
    if isinstance(value, (float, np.floating)):
        return float(str(np.float32(value)))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _print_result(kind, result, as_json, out):
    if as_json:
        print(json.dumps(_jsonable(result), ensure_ascii=False), file=out)
        return
    if kind == "status":
        for status in result:
            line = f"version {status['version']}: {status['state']}"
            if status["error_code"] != "OK":
                line += f" ({status['error_code']}: {status['error_message']})"
            print(line, file=out)
    elif kind == "metadata":
        spec = result["model_spec"]
        print(f"model {spec['name']} version {spec['version']}", file=out)
        for name, signature in result["signature_def"].items():
            print(f"signature {name} ({signature['method_name']})", file=out)
            for role in ("inputs", "outputs"):
                for alias, info in signature[role].items():
                    print(f"  {role[:-1]} {alias}: {info['dtype']} "
                          f"{info['shape']}", file=out)
    elif kind == "classify":
        for index, classes in enumerate(result):
            pairs = ", ".join(f"{label} {score:.6g}"
                              for label, score in classes)
            print(f"{index}: {pairs}", file=out)
    else:
        for name, array in result.items():
            print(f"{name}: "
                  f"{json.dumps(_jsonable(array), ensure_ascii=False)}",
                  file=out)


def main(argv=None, out=None, err=None):
    """Runs the command line; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parse_args(argv)
    options = dict(version=args.version, version_label=args.version_label,
                   timeout=args.timeout)
    try:
        if args.protocol == "grpc":
            client = GrpcPredictionClient(args.model, args.host, args.port,
                                          **options)
        else:
            client = RestPredictionClient(
                args.model, f"http://{args.host}:{args.rest_port}", **options
            )
        with client:
            if args.status:
                _print_result("status", client.get_model_status(), args.json,
                              out)
            if args.metadata:
                _print_result("metadata", client.get_model_metadata(),
                              args.json, out)
            if args.classify:
                examples = [{"text": text} for text in args.text]
                for example, pair in zip(examples, args.text_pair):
                    example["text_pair"] = pair
                _print_result("classify", client.classify(
                    examples, signature_name=args.signature
                ), args.json, out)
            elif args.text or args.input:
                _print_result("predict", client.predict(
                    _cli_inputs(args), signature_name=args.signature,
                    output_filter=args.output_filter,
                ), args.json, out)
    except ServingError as error:
        print(f"error: {error}", file=err)
        return 1
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=err)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
