"""Tests for `serving.rest_client`: error mapping, and requests against a
scripted loopback HTTP server."""

import http.server
import json
import threading
import time

import grpc
import numpy as np
import pytest

from serving.errors import ServingError
from serving.rest_client import RestPredictionClient
from serving.rest_client import error_from_http

CODE = grpc.StatusCode


def client_on(port, **kwargs):
    return RestPredictionClient("m", f"http://127.0.0.1:{port}", **kwargs)


@pytest.mark.parametrize("status, message, code", [
    (400, "Expects arg[0] to be string", CODE.INVALID_ARGUMENT),
    (400, "FAILED_PRECONDITION: no signature", CODE.FAILED_PRECONDITION),
    (404, "Servable not found for request", CODE.NOT_FOUND),
    (404, "INVALID_ARGUMENT: a 404 is not a 400", CODE.NOT_FOUND),
    (500, "boom", CODE.INTERNAL),
    (501, "no", CODE.UNIMPLEMENTED),
    (503, "loading", CODE.UNAVAILABLE),
    (504, "slow", CODE.DEADLINE_EXCEEDED),
    (418, "teapot", CODE.UNKNOWN),
])
def test_http_status_maps_to_grpc_code(status, message, code):
    error = error_from_http(status, message)
    assert isinstance(error, ServingError)
    assert error.code == code
    assert error.message.endswith(message.partition(": ")[2] or message)


class ScriptedHttpServer:
    """An HTTP server on loopback replying `replies` in turn (the last one
    repeats), recording (method, path, JSON body) of each request."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self._reply()

            def do_POST(self):
                self._reply()

            def _reply(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                body = json.loads(body) if body else None
                server.requests.append((self.command, self.path, body))
                reply = server.replies[min(len(server.requests),
                                           len(server.replies)) - 1]
                status, payload, delay = (tuple(reply) + (0,))[:3]
                time.sleep(delay)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._httpd.shutdown()
        self._httpd.server_close()


METADATA_REPLY = {  # as tensorflow_model_server writes it
    "model_spec": {"name": "m", "signature_name": "", "version": "3"},
    "metadata": {"signature_def": {"signature_def": {"serving_default": {
        "inputs": {"text": {"dtype": "DT_STRING", "tensor_shape": {
            "dim": [{"size": "-1", "name": ""}], "unknown_rank": False},
            "name": "serving_default_text:0"}},
        "outputs": {"probabilities": {"dtype": "DT_FLOAT", "tensor_shape": {
            "dim": [{"size": "-1", "name": ""}, {"size": "2", "name": ""}],
            "unknown_rank": False}, "name": "StatefulPartitionedCall:0"}},
        "method_name": "tensorflow/serving/predict",
    }}}},
}


def test_rest_retries_503_then_reads_an_unnamed_single_output():
    replies = [(503, {"error": "loading"}), (503, {"error": "loading"}),
               (200, {"outputs": [[0.25, 0.75]]}), (200, METADATA_REPLY)]
    with ScriptedHttpServer(replies) as server:
        with client_on(server.port, initial_backoff=0.01,
                        version_label="canary") as client:
            outputs = client.predict({"text": ["ok", b"\xff"]})
    assert list(outputs) == ["probabilities"]
    assert outputs["probabilities"].dtype == np.float32
    np.testing.assert_array_equal(outputs["probabilities"],
                                  np.array([[0.25, 0.75]], np.float32))
    methods_and_paths = [(method, path) for method, path, _ in server.requests]
    assert methods_and_paths == [
        ("POST", "/v1/models/m/labels/canary:predict")] * 3 + [
        ("GET", "/v1/models/m/labels/canary/metadata")]
    assert server.requests[0][2] == {
        "signature_name": "serving_default",
        "inputs": {"text": ["ok", {"b64": "/w=="}]},
    }


@pytest.mark.parametrize("status, code", [(400, CODE.INVALID_ARGUMENT),
                                          (404, CODE.NOT_FOUND),
                                          (500, CODE.INTERNAL)])
def test_rest_errors_are_not_retried(status, code):
    with ScriptedHttpServer([(status, {"error": "from server"})]) as server:
        with client_on(server.port, initial_backoff=0.01) as client:
            with pytest.raises(ServingError) as raised:
                client.get_model_status()
    assert (raised.value.code, raised.value.message) == (code, "from server")
    assert len(server.requests) == 1


def test_rest_timeout_is_deadline_exceeded():
    with ScriptedHttpServer([(200, {}, 1.0)]) as server:
        with client_on(server.port, timeout=0.2) as client:
            with pytest.raises(ServingError) as raised:
                client.get_model_status()
    assert raised.value.code == CODE.DEADLINE_EXCEEDED
    assert len(server.requests) == 1


@pytest.mark.parametrize("key", ["results", "result"])
def test_rest_classify_and_regress(key):
    # tensorflow_model_server replies "results"; its docs show "result".
    replies = [(200, {key: [[["neg", 0.25], ["pos", 0.75]]]}),
               (200, {key: [1.5, -2.0]})]
    with ScriptedHttpServer(replies) as server:
        with client_on(server.port, version=2) as client:
            classes = client.classify([{"text": "a"}], signature_name="c",
                                      context={"lang": "en"})
            values = client.regress([{"x": 1.0}, {"x": 2}])
    assert classes == [[("neg", 0.25), ("pos", 0.75)]]
    assert values.dtype == np.float32 and values.tolist() == [1.5, -2.0]
    (_, path, body), (_, regress_path, regress_body) = server.requests
    assert path == "/v1/models/m/versions/2:classify"
    assert body == {"signature_name": "c", "examples": [{"text": ["a"]}],
                    "context": {"lang": ["en"]}}
    assert regress_path == "/v1/models/m/versions/2:regress"
    assert regress_body["examples"] == [{"x": [1.0]}, {"x": [2]}]


def test_rest_metadata_and_status_in_tf_serving_json():
    status_reply = {"model_version_status": [
        {"version": "3", "state": "AVAILABLE",
         "status": {"error_code": "OK", "error_message": ""}},
        {"version": "2", "state": "END",
         "status": {"error_code": "NOT_FOUND", "error_message": "gone"}},
    ]}
    replies = [(200, METADATA_REPLY), (200, status_reply)]
    with ScriptedHttpServer(replies) as server:
        with client_on(server.port) as client:
            metadata = client.get_model_metadata()
            status = client.get_model_status()
    assert metadata == {
        "model_spec": {"name": "m", "version": 3},
        "signature_def": {"serving_default": {
            "method_name": "tensorflow/serving/predict",
            "inputs": {"text": {"dtype": "string", "shape": [-1]}},
            "outputs": {"probabilities": {"dtype": "float32",
                                          "shape": [-1, 2]}},
        }},
    }
    assert status == [
        {"version": 2, "state": "END", "error_code": "NOT_FOUND",
         "error_message": "gone"},
        {"version": 3, "state": "AVAILABLE", "error_code": "OK",
         "error_message": ""},
    ]
    assert [path for _, path, _ in server.requests] == [
        "/v1/models/m/metadata", "/v1/models/m"]
