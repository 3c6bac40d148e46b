"""Tests for `serving.grpc_client` against a scripted loopback server."""

import time
from concurrent import futures

import grpc
import numpy as np
import pytest
from tensorflow_serving.apis import classification_pb2
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from serving.errors import ServingError
from serving.grpc_client import GrpcPredictionClient

CODE = grpc.StatusCode


def client_on(port, **kwargs):
    return GrpcPredictionClient("m", "127.0.0.1", port, **kwargs)


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


def test_grpc_retries_unavailable_then_succeeds(grpc_service):
    service = grpc_service([CODE.UNAVAILABLE, CODE.UNAVAILABLE])
    with client_on(service.port, initial_backoff=0.01) as client:
        outputs = client.predict({"text": ["a", "b"]})
    assert outputs["text"].tolist() == ["a", "b"]
    assert len(service.requests) == 3


@pytest.mark.parametrize("code", [CODE.INVALID_ARGUMENT, CODE.NOT_FOUND,
                                  CODE.FAILED_PRECONDITION, CODE.INTERNAL])
def test_grpc_other_errors_are_not_retried(grpc_service, code):
    service = grpc_service([code] * 5)
    with client_on(service.port, initial_backoff=0.01) as client:
        with pytest.raises(ServingError) as raised:
            client.predict({"text": ["a"]})
    assert (raised.value.code, raised.value.message) == (code, "scripted")
    assert len(service.requests) == 1


def test_grpc_deadline_is_per_call_and_not_retried(grpc_service):
    service = grpc_service(delay=1.0)
    with client_on(service.port, timeout=10) as client:
        start = time.monotonic()
        with pytest.raises(ServingError) as raised:
            client.predict({"text": ["a"]}, timeout=0.2)
        assert time.monotonic() - start < 0.9
    assert raised.value.code == CODE.DEADLINE_EXCEEDED
    assert len(service.requests) == 1


def test_grpc_request_and_messages_above_4_mib(grpc_service):
    service = grpc_service()
    big = np.arange(2_000_000, dtype=np.float32)  # 8 MB each way
    with client_on(service.port, version=7) as client:
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
    with client_on(service.port, version_label="stable") as client:
        result = client.classify([{"text": "a"}, {"text": "b"}],
                                 signature_name="classify")
    assert result == [[("negative", 0.25), ("positive", 0.75)]] * 2
    request = service.requests[0]
    assert request.model_spec.version_label == "stable"
    examples = request.input.example_list.examples
    assert [e.features.feature["text"].bytes_list.value[0]
            for e in examples] == [b"a", b"b"]
