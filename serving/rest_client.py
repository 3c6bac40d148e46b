"""`RestPredictionClient`: a `PredictionClient` over TF Serving's REST API.

Requests and replies are TF Serving's JSON (`serving.client_values`);
HTTP errors become `ServingError`s with the code `error_from_http` reads.
It reads the JSON itself, without TF Serving's protos, which import
TensorFlow: REST calls need no TensorFlow.
"""

import json
import urllib.parse

import grpc
import numpy as np
import requests

from serving.client_values import array_from_json
from serving.client_values import array_to_json
from serving.client_values import dtype_name
from serving.client_values import example_to_json
from serving.client_values import float32_score
from serving.client_values import is_b64_object
from serving.client_values import json_string_to_text
from serving.errors import ServingError
from serving.prediction_client import DEFAULT_SIGNATURE
from serving.prediction_client import PredictionClient
from serving.prediction_client import code_name

# `ModelVersionStatus.State` numbers, should a reply use them.
_STATES = {0: "UNKNOWN", 10: "START", 20: "LOADING", 30: "AVAILABLE",
           40: "UNLOADING", 50: "END"}


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
        except requests.ConnectionError as error:  # ConnectTimeout too
            raise ServingError(grpc.StatusCode.UNAVAILABLE,
                               f"cannot connect to {url}: {error}") from None
        except requests.Timeout:
            raise ServingError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"no reply from {url} within {timeout} s",
            ) from None
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
                message = json_string_to_text(reply["error"])
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
            dtypes = {alias: info["dtype"]
                      for alias, info in signature["outputs"].items()}
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
        # Protobuf's JSON: int64s may be strings, defaults are left out.
        reply = self._request("GET", self._model_url("/metadata"), None,
                              timeout)
        spec = reply.get("model_spec", {})
        signature_defs = reply.get("metadata", {}).get(
            "signature_def", {}).get("signature_def", {})
        return {
            "model_spec": {
                "name": spec.get("name", ""),
                "version": int(spec["version"]) if "version" in spec
                else None,
            },
            "signature_def": {
                name: _describe_signature(signature_defs[name])
                for name in sorted(signature_defs)
            },
        }

    def _status(self, timeout):
        reply = self._request("GET", self._model_url(), None, timeout)
        versions = []
        for status in reply.get("model_version_status", []):
            state = status.get("state", "UNKNOWN")
            error = status.get("status", {})
            versions.append({
                "version": int(status.get("version", 0)),
                "state": _STATES.get(state, state),
                "error_code": code_name(error.get("error_code", 0)),
                "error_message": error.get("error_message", ""),
            })
        return versions

    def _signature_def(self, signature_name):
        """The signature (as `get_model_metadata` describes it), from
        metadata fetched once; None if unknown."""
        if self._signature_defs is None:
            try:
                self._signature_defs = self._metadata(
                    self.timeout)["signature_def"]
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
    named, _, rest = message.partition(":")
    code = getattr(grpc.StatusCode, named.strip(), None)
    if (isinstance(code, grpc.StatusCode) and rest
            and ServingError(code, "").http_status == http_status):
        return ServingError(code, rest.strip())
    return ServingError.from_http(http_status, message)


def _examples_json(examples, context, signature_name):
    """The body of a classify or regress request."""
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


def _label_and_score(item):
    if isinstance(item, list) and len(item) == 2:
        return json_string_to_text(item[0]), float32_score(item[1])
    if isinstance(item, list) and len(item) == 1:
        return "", float32_score(item[0])
    return "", float32_score(item)


def _named_outputs(outputs, signature):
    """{name: JSON value} from a columnar reply, which drops the name of
    a lone output."""
    names = sorted(signature["outputs"]) if signature is not None else None
    if names is not None and len(names) == 1:
        return {names[0]: outputs}
    if isinstance(outputs, dict) and not is_b64_object(outputs):
        return outputs
    return {(names or ["outputs"])[0]: outputs}


def _describe_signature(signature):
    return {
        "method_name": signature.get("method_name", ""),
        "inputs": {name: _describe_tensor(info) for name, info
                   in sorted(signature.get("inputs", {}).items())},
        "outputs": {name: _describe_tensor(info) for name, info
                    in sorted(signature.get("outputs", {}).items())},
    }


def _describe_tensor(info):
    shape = info.get("tensor_shape")
    if shape is not None and not shape.get("unknown_rank", False):
        shape = [int(dim.get("size", 0)) for dim in shape.get("dim", [])]
    else:
        shape = None
    return {"dtype": dtype_name(info.get("dtype", "DT_INVALID")),
            "shape": shape}
