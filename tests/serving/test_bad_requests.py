"""Every class of bad request gets TF Serving 2.21's status (issue 18).

The table, with the TF Serving source of each expected status, is in
bad_requests.py; each row is sent here, as raw bytes (REST) or a proto
(gRPC), to the shared real server process of conftest.py. An error answer
must be JSON {"error": message} (REST) or a status with a message (gRPC);
no answer may carry a Python traceback.
"""

import json
import socket
import time

import grpc
import pytest
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import prediction_service_pb2_grpc

from tests.serving import bad_requests
from tests.serving.bad_requests import M
from tests.serving.bad_requests import REST_CASES
from tests.serving.bad_requests import exchange
from tests.serving.bad_requests import post
from tests.serving.bad_requests import read_responses

GRPC_CASES = bad_requests.grpc_cases()


@pytest.fixture(scope="module")
def served(served_classifier):
    """The shared server; fails the module if it logged internal errors."""
    before = served_classifier.server.log().count("Internal error")
    yield served_classifier
    log = served_classifier.server.log()
    assert log.count("Internal error") == before, log[-4000:]


@pytest.fixture(scope="module")
def stubs(served):
    with served.server.channel() as channel:
        yield {
            "PredictionService":
                prediction_service_pb2_grpc.PredictionServiceStub(channel),
            "ModelService": model_service_pb2_grpc.ModelServiceStub(channel),
        }


def check_answer(answer, expected, json_error, method=""):
    status, headers, body = answer
    assert status == expected, body[:500]
    assert b"Traceback" not in body and b"<HTML" not in body.upper()
    if method == "HEAD":
        assert body == b""
        return
    if json_error:
        assert headers.get("content-type") == "application/json"
        reply = json.loads(body)
        assert isinstance(reply["error"], str) and reply["error"]
    elif status == 200 and body:
        assert "error" not in json.loads(body)


@pytest.mark.parametrize("case", REST_CASES, ids=[c[0] for c in REST_CASES])
def test_rest_bad_request(served, case):
    _, request, expected, json_error, _ = case
    method = request.split(b" ", 1)[0].decode("latin-1")
    answers = exchange(served.rest_port, request, timeout=60,
                       head=method == "HEAD")
    assert len(answers) == 1, "the server closed without an answer"
    check_answer(answers[0], expected, json_error, method)


def test_table_sources_are_given():
    for case in REST_CASES:
        assert case[4], case[0]
    for case in GRPC_CASES:
        assert case[4], case[0]
    for table in (REST_CASES, GRPC_CASES):
        ids = [case[0] for case in table]
        assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", GRPC_CASES, ids=[c[0] for c in GRPC_CASES])
def test_grpc_bad_request(stubs, case):
    _, method, request, expected, _ = case
    service = "ModelService" if method == "GetModelStatus" else (
        "PredictionService"
    )
    call = getattr(stubs[service], method)
    if expected == "OK":
        call(request, timeout=60)
        return
    with pytest.raises(grpc.RpcError) as raised:
        call(request, timeout=60)
    assert raised.value.code().name == expected, raised.value.details()
    assert raised.value.details()
    assert "Traceback" not in raised.value.details()


BODY = b'{"instances": ["a fine film"]}'


def test_body_shorter_than_content_length_then_closed(served):
    """libevent: EOF before the declared body is EVREQ_HTTP_EOF, no answer."""
    request = post(f"{M}:predict", BODY, length=str(len(BODY) + 10))
    with socket.create_connection(("127.0.0.1", served.rest_port),
                                  timeout=30) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        assert read_responses(sock, 1, timeout=30) == []


def test_body_shorter_than_content_length_waits_for_the_rest(served):
    request = post(f"{M}:predict", BODY, length=str(len(BODY)))
    cut = len(request) - 10
    with socket.create_connection(("127.0.0.1", served.rest_port),
                                  timeout=30) as sock:
        sock.sendall(request[:cut])
        sock.settimeout(1.0)
        with pytest.raises(socket.timeout):
            data = sock.recv(1)
            pytest.fail(f"answered an incomplete body: {data!r}")
        sock.sendall(request[cut:])
        (answer,) = read_responses(sock, 1, timeout=30)
    check_answer(answer, 200, False)


def test_body_longer_than_content_length(served):
    """The bytes after Content-Length are the next request (keep-alive)."""
    request = post(f"{M}:predict", BODY) + b"NOT A REQUEST\r\n\r\n"
    answers = exchange(served.rest_port, request, count=2)
    assert [answer[0] for answer in answers] == [200, 400]
    check_answer(answers[1], 400, True)


def test_keep_alive_serves_several_requests(served):
    request = post(f"{M}:predict", BODY)
    answers = exchange(served.rest_port, request * 3, count=3)
    assert [answer[0] for answer in answers] == [200, 200, 200]


def test_http_1_0_closes_after_the_answer(served):
    request = post(f"{M}:predict", BODY, version="HTTP/1.0")
    with socket.create_connection(("127.0.0.1", served.rest_port),
                                  timeout=30) as sock:
        sock.sendall(request)
        (answer,) = read_responses(sock, 1, timeout=30)
        check_answer(answer, 200, False)
        sock.settimeout(30)
        assert sock.recv(1) == b""  # closed by the server


def test_slow_client_does_not_block_others(served):
    """One client sending its body byte by byte; another is answered."""
    request = post(f"{M}:predict", BODY)
    with socket.create_connection(("127.0.0.1", served.rest_port),
                                  timeout=30) as slow:
        slow.sendall(request[:-5])
        started = time.monotonic()
        (answer,) = exchange(served.rest_port, request, timeout=30)
        check_answer(answer, 200, False)
        assert time.monotonic() - started < 30
        for byte in request[-5:]:
            slow.sendall(bytes([byte]))
        (answer,) = read_responses(slow, 1, timeout=30)
        check_answer(answer, 200, False)
