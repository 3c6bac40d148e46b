"""Tests for `serving.client`.

The first part needs no model: conversions, error mapping, and retries
against real loopback servers (a gRPC server and an HTTP server that
reply as scripted). The second part calls a model served by
`python -m serving.server` (the `served_classifier` fixture).
"""

import base64
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent import futures

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import classification_pb2
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from serving.client import GrpcPredictionClient
from serving.client import RestPredictionClient
from serving.client import array_from_json
from serving.client import array_to_json
from serving.client import as_input_array
from serving.client import error_from_http
from serving.client import example_to_json
from serving.client import main
from serving.client import make_example
from serving.errors import ServingError

CODE = grpc.StatusCode
CLIENTS = {"grpc": GrpcPredictionClient, "rest": RestPredictionClient}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_for(protocol, port, model="m", **kwargs):
    if protocol == "grpc":
        return GrpcPredictionClient(model, "127.0.0.1", port, **kwargs)
    return RestPredictionClient(model, f"http://127.0.0.1:{port}", **kwargs)


# Arguments and conversions.


@pytest.mark.parametrize("protocol", ["grpc", "rest"])
def test_version_and_label_are_exclusive(protocol):
    with pytest.raises(ValueError, match="either version .* or version_label"):
        client_for(protocol, 1, version=2, version_label="stable")
    with pytest.raises(ValueError, match="non-negative integer"):
        client_for(protocol, 1, version=-1)
    with pytest.raises(ValueError, match="version_label"):
        client_for(protocol, 1, version_label="")
    with pytest.raises(ValueError, match="max_attempts"):
        client_for(protocol, 1, max_attempts=0)
    assert client_for(protocol, 1, version="3").version == 3


def test_inputs_become_arrays_with_tf_default_dtypes():
    text = as_input_array(["héllo", b"\xff"])
    assert text.dtype == object and text.tolist() == [b"h\xc3\xa9llo", b"\xff"]
    assert as_input_array("one").shape == ()
    assert as_input_array([["a", "b"]]).shape == (1, 2)
    assert as_input_array(np.array(["a"])).tolist() == [b"a"]
    assert as_input_array([[1, 2], [3, 4]]).dtype == np.int32
    assert as_input_array([0.5]).dtype == np.float32
    assert as_input_array([True]).dtype == np.bool_
    ids = np.array([[1, 2]], np.int64)
    assert as_input_array(ids).dtype == np.int64  # numpy keeps its dtype
    with pytest.raises(ValueError, match="beyond int32"):
        as_input_array([2**40])
    with pytest.raises(ValueError, match="rectangular"):
        as_input_array([["a", "b"], ["c"]])
    with pytest.raises(TypeError):
        as_input_array(["a", 1])


def test_json_tensors_round_trip_with_b64_for_binary():
    array = as_input_array([["plain", "naïve 😀"], [b"\xff\xfe", b""]])
    encoded = array_to_json(array)
    assert encoded == [["plain", "naïve 😀"],
                       [{"b64": base64.b64encode(b"\xff\xfe").decode()}, ""]]
    decoded = array_from_json(json.loads(json.dumps(encoded)),
                              tf.string.as_datatype_enum)
    assert decoded.dtype == object and decoded.shape == (2, 2)
    assert decoded.tolist() == array.tolist()
    assert array_to_json(np.array([[1.5, 2]], np.float32)) == [[1.5, 2.0]]


def test_json_replies_get_the_signature_dtypes():
    floats = array_from_json([[0.1, 1.0]], tf.float32.as_datatype_enum)
    assert floats.dtype == np.float32
    np.testing.assert_array_equal(floats, np.array([[0.1, 1.0]], np.float32))
    assert array_from_json([1, 2], tf.int32.as_datatype_enum).dtype == np.int32
    assert array_from_json([1, 2], tf.int64.as_datatype_enum).dtype == np.int64
    assert array_from_json([], tf.float32.as_datatype_enum).shape == (0,)
    # Without a signature: strings still come back as bytes.
    assert array_from_json(["x", {"b64": "/w=="}]).tolist() == [b"x", b"\xff"]
    assert array_from_json("x").shape == ()


def test_examples_become_tf_examples_and_tf_serving_json():
    example = make_example({
        "text": "héllo", "raw": b"\xff", "ids": [1, 2, True],
        "weights": [1, 2.5], "score": np.float32(0.25), "none": [],
    })
    feature = example.features.feature
    assert feature["text"].bytes_list.value == ["héllo".encode()]
    assert feature["raw"].bytes_list.value == [b"\xff"]
    assert feature["ids"].int64_list.value == [1, 2, 1]
    assert feature["weights"].float_list.value == [1.0, 2.5]
    assert feature["score"].float_list.value == [0.25]
    assert feature["none"].WhichOneof("kind") is None
    assert json.loads(json.dumps(example_to_json(example))) == {
        "text": ["héllo"], "raw": [{"b64": "/w=="}], "ids": [1, 2, 1],
        "weights": [1.0, 2.5], "score": [0.25], "none": [],
    }
    # Floats stay floats in JSON, which is how TF Serving tells them apart.
    assert "1.0" in json.dumps(example_to_json(example)["weights"])
    with pytest.raises(TypeError, match="not mixed"):
        make_example({"bad": ["a", 1]})
    with pytest.raises(TypeError, match="dict"):
        make_example(["text", "a"])


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


# Retries, deadlines and requests against scripted loopback servers.


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


class ScriptedPredictionService(
    prediction_service_pb2_grpc.PredictionServiceServicer
):
    """Predict fails with `codes` in turn, then echoes the inputs back
    (ignoring the output filter); Classify scores every example alike."""

    def __init__(self, codes=(), delay=0.0):
        self.codes = list(codes)
        self.delay = delay
        self.requests = []

    def Predict(self, request, context):
        self.requests.append(request)
        time.sleep(self.delay)
        if len(self.requests) <= len(self.codes):
            context.abort(self.codes[len(self.requests) - 1], "scripted")
        return predict_pb2.PredictResponse(outputs=request.inputs)

    def Classify(self, request, context):
        self.requests.append(request)
        result = classification_pb2.ClassificationResult()
        for _ in request.input.example_list.examples:
            classes = result.classifications.add().classes
            classes.add(label="negative", score=0.25)
            classes.add(label="positive", score=0.75)
        return classification_pb2.ClassificationResponse(result=result)


@pytest.fixture
def grpc_service():
    """Starts a `ScriptedPredictionService` on loopback: call with codes."""
    servers = []

    def start(codes=(), delay=0.0):
        service = ScriptedPredictionService(codes, delay)
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4),
            options=[("grpc.max_receive_message_length", 64 << 20),
                     ("grpc.max_send_message_length", 64 << 20)],
        )
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            service, server
        )
        service.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        return service

    yield start
    for server in servers:
        server.stop(grace=None)


@pytest.mark.parametrize("protocol", ["grpc", "rest"])
def test_nothing_listening_is_unavailable_after_all_attempts(protocol):
    client = client_for(protocol, free_port(), max_attempts=3,
                        initial_backoff=0.05, timeout=5)
    start = time.monotonic()
    with pytest.raises(ServingError) as raised:
        client.predict({"text": ["a"]})
    elapsed = time.monotonic() - start
    assert raised.value.code == CODE.UNAVAILABLE
    assert "after 3 attempts" in raised.value.message
    assert 0.05 + 0.1 <= elapsed < 10
    client.close()


def test_grpc_retries_unavailable_then_succeeds(grpc_service):
    service = grpc_service([CODE.UNAVAILABLE, CODE.UNAVAILABLE])
    with client_for("grpc", service.port, initial_backoff=0.01) as client:
        outputs = client.predict({"text": ["a", "b"]})
    assert outputs["text"].tolist() == ["a", "b"]
    assert len(service.requests) == 3


@pytest.mark.parametrize("code", [CODE.INVALID_ARGUMENT, CODE.NOT_FOUND,
                                  CODE.FAILED_PRECONDITION, CODE.INTERNAL])
def test_grpc_other_errors_are_not_retried(grpc_service, code):
    service = grpc_service([code] * 5)
    with client_for("grpc", service.port, initial_backoff=0.01) as client:
        with pytest.raises(ServingError) as raised:
            client.predict({"text": ["a"]})
    assert (raised.value.code, raised.value.message) == (code, "scripted")
    assert len(service.requests) == 1


def test_grpc_deadline_is_per_call_and_not_retried(grpc_service):
    service = grpc_service(delay=1.0)
    with client_for("grpc", service.port, timeout=10) as client:
        start = time.monotonic()
        with pytest.raises(ServingError) as raised:
            client.predict({"text": ["a"]}, timeout=0.2)
        assert time.monotonic() - start < 0.9
    assert raised.value.code == CODE.DEADLINE_EXCEEDED
    assert len(service.requests) == 1


def test_grpc_request_and_messages_above_4_mib(grpc_service):
    service = grpc_service()
    big = np.arange(2_000_000, dtype=np.float32)  # 8 MB each way
    with client_for("grpc", service.port, version=7) as client:
        outputs = client.predict(
            {"big": big, "ids": [[1, 2]], "text": "x"},
            signature_name="sig", output_filter="big",
        )
    np.testing.assert_array_equal(outputs["big"], big)
    assert outputs["ids"].dtype == np.int32 and outputs["text"] == "x"
    request = service.requests[0]
    assert request.model_spec.name == "m"
    assert request.model_spec.version.value == 7
    assert request.model_spec.signature_name == "sig"
    assert list(request.output_filter) == ["big"]


def test_grpc_classify_sends_examples(grpc_service):
    service = grpc_service()
    with client_for("grpc", service.port, version_label="stable") as client:
        result = client.classify([{"text": "a"}, {"text": "b"}],
                                 signature_name="classify")
    assert result == [[("negative", 0.25), ("positive", 0.75)]] * 2
    request = service.requests[0]
    assert request.model_spec.version_label == "stable"
    examples = request.input.example_list.examples
    assert [e.features.feature["text"].bytes_list.value[0]
            for e in examples] == [b"a", b"b"]


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
        with client_for("rest", server.port, initial_backoff=0.01,
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
        with client_for("rest", server.port, initial_backoff=0.01) as client:
            with pytest.raises(ServingError) as raised:
                client.get_model_status()
    assert (raised.value.code, raised.value.message) == (code, "from server")
    assert len(server.requests) == 1


def test_rest_timeout_is_deadline_exceeded():
    with ScriptedHttpServer([(200, {}, 1.0)]) as server:
        with client_for("rest", server.port, timeout=0.2) as client:
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
        with client_for("rest", server.port, version=2) as client:
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
        with client_for("rest", server.port) as client:
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


def test_command_line_error_is_one_line(capsys):
    port = free_port()
    status = main(["--model", "m", "--port", str(port), "--text", "a",
                   "--timeout", "2"])
    captured = capsys.readouterr()
    assert status == 1 and captured.out == ""
    assert captured.err.startswith("error: UNAVAILABLE: ")
    assert len(captured.err.strip().splitlines()) == 1


# Against `python -m serving.server` serving an exported classifier.


@pytest.fixture(params=["grpc", "rest"])
def protocol(request):
    return request.param


@pytest.fixture
def client(served_classifier, protocol):
    port = (served_classifier.grpc_port if protocol == "grpc"
            else served_classifier.rest_port)
    with client_for(protocol, port, served_classifier.model_name,
                    timeout=60) as client:
        yield client


TEXTS = ["The staff were lovely.", "It broke after a day!", "naïve café 😀"]


def _as_text(array):
    return [item.decode() if isinstance(item, bytes) else item
            for item in np.asarray(array).reshape(-1).tolist()]


def test_predict_matches_in_process_outputs(client, served_classifier):
    outputs = client.predict({"text": TEXTS})
    # The dtypes the exported signature declares.
    assert outputs["probabilities"].dtype == np.float32
    assert outputs["label_ids"].dtype == np.int32
    expected = served_classifier.predict_in_process(TEXTS)
    assert set(expected) <= set(outputs)
    for name, value in expected.items():
        value = np.asarray(value)
        if value.dtype == object or value.dtype.kind in "SU":
            assert outputs[name].dtype == object
            assert _as_text(outputs[name]) == _as_text(value)
        else:
            assert outputs[name].dtype.kind == value.dtype.kind, name
            np.testing.assert_allclose(outputs[name], value, atol=1e-5,
                                       err_msg=name)


def test_both_protocols_return_the_same_arrays(served_classifier):
    results = []
    for protocol, port in [("grpc", served_classifier.grpc_port),
                           ("rest", served_classifier.rest_port)]:
        with client_for(protocol, port, served_classifier.model_name,
                        timeout=60) as client:
            results.append(client.predict({"text": TEXTS[:2]}))
    grpc_outputs, rest_outputs = results
    assert list(grpc_outputs) == list(rest_outputs)
    for name in grpc_outputs:
        assert grpc_outputs[name].dtype == rest_outputs[name].dtype, name
        assert grpc_outputs[name].shape == rest_outputs[name].shape, name
        assert grpc_outputs[name].tolist() == rest_outputs[name].tolist(), name


def test_output_filter(client):
    outputs = client.predict({"text": TEXTS[:1]},
                             output_filter=["probabilities"])
    assert list(outputs) == ["probabilities"]
    assert outputs["probabilities"].shape[0] == 1
    with pytest.raises(ServingError) as raised:
        client.predict({"text": TEXTS[:1]}, output_filter=["nope"])
    assert raised.value.code == CODE.INVALID_ARGUMENT


def test_classify_agrees_with_predict(client):
    predicted = client.predict({"text": TEXTS})
    classified = client.classify([{"text": text} for text in TEXTS],
                                 signature_name="classify")
    assert len(classified) == len(TEXTS)
    for classes, probabilities, name in zip(
        classified, predicted["probabilities"], predicted["label_names"]
    ):
        scores = np.array([score for _, score in classes], np.float32)
        np.testing.assert_allclose(scores, probabilities, atol=1e-5)
        assert max(classes, key=lambda pair: pair[1])[0] == name


def test_status_and_metadata(client, served_classifier):
    status = client.get_model_status()
    assert any(item["state"] == "AVAILABLE" and item["error_code"] == "OK"
               for item in status)
    metadata = client.get_model_metadata()
    assert metadata["model_spec"]["name"] == served_classifier.model_name
    signatures = metadata["signature_def"]
    assert signatures["serving_default"]["inputs"]["text"]["dtype"] == "string"
    assert (signatures["serving_default"]["outputs"]["probabilities"]["dtype"]
            == "float32")
    assert (signatures["classify"]["method_name"]
            == "tensorflow/serving/classify")


def test_pinned_version_and_missing_ones(protocol, served_classifier):
    port = (served_classifier.grpc_port if protocol == "grpc"
            else served_classifier.rest_port)
    name = served_classifier.model_name
    with client_for(protocol, port, name) as client:
        version = max(item["version"] for item in client.get_model_status())
    with client_for(protocol, port, name, version=version) as client:
        outputs = client.predict({"text": TEXTS[:1]})
        assert outputs["probabilities"].shape[0] == 1
        assert client.get_model_status()[0]["version"] == version
    with client_for(protocol, port, name, version=version + 100) as client:
        with pytest.raises(ServingError) as raised:
            client.predict({"text": TEXTS[:1]})
    assert raised.value.code == CODE.NOT_FOUND
    with client_for(protocol, port, "no_such_model") as client:
        with pytest.raises(ServingError) as raised:
            client.get_model_status()
    assert raised.value.code == CODE.NOT_FOUND


def test_bad_requests(client):
    with pytest.raises(ServingError) as raised:
        client.predict({"text": TEXTS[:1]}, signature_name="no_such_signature")
    # gRPC says FAILED_PRECONDITION; REST folds it into HTTP 400.
    assert raised.value.code in (CODE.FAILED_PRECONDITION,
                                 CODE.INVALID_ARGUMENT)
    assert "no_such_signature" in raised.value.message
    with pytest.raises(ServingError) as raised:
        client.predict({"wrong_name": TEXTS[:1]})
    assert raised.value.code == CODE.INVALID_ARGUMENT


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "serving.client", *args],
        capture_output=True, text=True, timeout=300,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )


def test_command_line_against_server(served_classifier):
    name = served_classifier.model_name
    result = run_cli("--model", name, "--protocol", "rest",
                     "--rest_port", str(served_classifier.rest_port),
                     "--text", TEXTS[0], "--text", TEXTS[1], "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    printed = json.loads(result.stdout)
    expected = served_classifier.predict_in_process(TEXTS[:2])
    np.testing.assert_allclose(printed["probabilities"],
                               expected["probabilities"], atol=1e-5)
    result = run_cli("--model", "no_such_model",
                     "--port", str(served_classifier.grpc_port), "--status")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: NOT_FOUND: ")
    assert len(result.stderr.strip().splitlines()) == 1
