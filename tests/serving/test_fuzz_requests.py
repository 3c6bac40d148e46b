"""A seeded fuzz run against a real server (issue 18, item 2).

About 4,600 REST and gRPC requests drawn from the classes of
bad_requests.py (random depths, bytes, versions, paths, methods, lengths,
dtypes), sent by 4 concurrent clients, each checked against the status TF
Serving gives its class. Afterwards the server still answers valid requests
with the in-process model's predictions, logged no internal error, and its
resident memory grew by less than RSS_GROWTH_BOUND_MB.
"""

import concurrent.futures
import json
import random
import socket
import time

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from tests.serving.bad_requests import M
from tests.serving.bad_requests import exchange
from tests.serving.bad_requests import http
from tests.serving.bad_requests import post
from tests.serving.bad_requests import read_responses

SEED = 18
REST_REQUESTS = 4000
GRPC_REQUESTS = 600
CLIENTS = 4
# The server's RSS after the run may exceed its RSS after the first
# WARM_UP requests by at most this much (a leak of 10 kB per request would
# pass it).
RSS_GROWTH_BOUND_MB = 40
WARM_UP = 400
TEXTS = ["a lovely quiet hotel", "it broke after a day"]
# Characters libevent's evhttp_uri_parse refuses in a path (400).
BAD_PATH_CHARS = ' "<>\\^`{|}[]' + "".join(map(chr, range(0x80, 0x100)))


def _json(value):
    return json.dumps(value).encode()


def _word(rng, size=8):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                   for _ in range(rng.randint(1, size)))


def _valid_body(rng):
    return {"instances": [_word(rng, 12) for _ in range(rng.randint(1, 3))]}


# Each generator: rng -> (request bytes, expected status or None for "closed
# without an answer", how to send it: "plain", "half-close" or "head").
def truncated_json(rng):
    body = _json(_valid_body(rng))
    return post(f"{M}:predict", body[:rng.randrange(len(body))]), 400, "plain"


def deep_ignored(rng):
    depth = rng.randint(1000, 20000)
    body = b'{"instances": ["a"], "x": ' + b"[" * depth + b"]" * depth + b"}"
    return post(f"{M}:predict", body), 200, "plain"


def deep_unterminated(rng):
    opening = bytes([rng.choice(b"[{")])
    return post(f"{M}:predict", opening * rng.randint(1000, 50000)), 400, (
        "plain")


def deep_input(rng):
    depth = rng.randint(300, 5000)
    body = b'{"instances": ' + b"[" * depth + b'"a"' + b"]" * depth + b"}"
    return post(f"{M}:predict", body), 400, "plain"


def wrong_type(rng):
    value = rng.choice([rng.random(), rng.randint(-10, 10), True, False, None,
                        {"x": 1}, [1, 2], {"b64": rng.randint(0, 9)}])
    return post(f"{M}:predict", _json({"instances": [value]})), 400, "plain"


def bad_b64(rng):
    text = "".join(rng.choice("!@#$%^&*") for _ in range(rng.randint(1, 9)))
    return post(f"{M}:predict", _json({"instances": [{"b64": text}]})), 400, (
        "plain")


def big_version(rng):
    version = rng.randint(1 << 63, 1 << 200)
    return post(f"{M}/versions/{version}:predict", _json(_valid_body(rng))), (
        400), "plain"


def absent_version(rng):
    version = rng.randint(2, (1 << 63) - 1)
    verb = rng.choice([":predict", ""])
    if verb:
        return post(f"{M}/versions/{version}{verb}", _json(_valid_body(rng))), (
            404), "plain"
    return http("GET", f"{M}/versions/{version}"), 404, "plain"


def non_numeric_version(rng):
    version = rng.choice(["-1", "1.5", "one", "0x10", "%31", "+1", ""])
    return post(f"{M}/versions/{version}:predict", _json(_valid_body(rng))), (
        400), "plain"


def bad_path_char(rng):
    name = _word(rng)
    position = rng.randrange(len(name) + 1)
    name = name[:position] + rng.choice(BAD_PATH_CHARS) + name[position:]
    return http("GET", f"/v1/models/{name}"), 400, "plain"


def bad_percent(rng):
    escape = "%" + rng.choice(["", "z", "zz", "g1", "1"])
    return http("GET", f"/v1/models/{_word(rng)}{escape}"), 400, "plain"


def encoded_unknown_name(rng):
    name = "".join(f"%{byte:02X}" for byte in _word(rng).encode()) + "_x"
    return http("GET", f"/v1/models/{name}"), 404, "plain"


def outside_v1(rng):
    path = rng.choice(["/", "/v2/models/reviews", "/v1", "/models/reviews",
                       f"/{_word(rng)}"])
    return http(rng.choice(["GET", "POST"]), path, "{}"), 404, "plain"


def traversal(rng):
    path = rng.choice([f"{M}/../../etc/passwd", "/v1/models/../reviews",
                       "/v1/models/reviews/..", "/v1/../etc/passwd"])
    return http("GET", path), 400, "plain"


def other_method(rng):
    method = rng.choice(["PUT", "DELETE", "PATCH"])
    return http(method, rng.choice([M, f"{M}:predict"]), "{}"), 400, "plain"


def head(rng):
    return http("HEAD", rng.choice([M, f"{M}:predict"])), 400, "head"


def unknown_method(rng):
    method = rng.choice(["TRACE", "BREW", "get", "Post", _word(rng).upper()])
    if method in ("GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS",
                  "CONNECT"):
        method = "BREW"
    return http(method, M), 501, "plain"


def both_or_neither(rng):
    body = rng.choice([{"instances": ["a"], "inputs": ["a"]}, {"x": 1}, {},
                       {"instances": []}, {"instances": {}},
                       {"instances": "a"}])
    return post(f"{M}:predict", _json(body)), 400, "plain"


def unknown_model(rng):
    return post(f"/v1/models/{_word(rng)}_x:predict", _json(_valid_body(rng))), (
        404), "plain"


def bad_content_length(rng):
    length = rng.choice(["abc", "-1", "", "1x", "0x10", "- 5"])
    return post(f"{M}:predict", b"{}", length=length), 400, "plain"


def short_body(rng):
    body = _json(_valid_body(rng))
    request = post(f"{M}:predict", body, length=str(len(body) + rng.randint(
        1, 1000)))
    return request, None, "half-close"


def bad_examples(rng):
    example = rng.choice([{"text": None}, {"text": [["a"]]}, {"n": [1, 2.5]},
                          {"n": [2.5, 1]}, {"n": 1 << 63}, {"t": {"x": 1}},
                          "a", 5])
    body = {"signature_name": "classify", "examples": [example]}
    return post(f"{M}:classify", _json(body)), 400, "plain"


def invalid_utf8_outside_strings(rng):
    byte = bytes([rng.randint(0x80, 0xFF)])
    return post(f"{M}:predict", b'{"instances": [' + byte + b"]}"), 400, (
        "plain")


def lone_high_surrogate(rng):
    escape = f"\\u{rng.randint(0xD800, 0xDBFF):04x}"
    tail = rng.choice(["", "x", "\\u0041", "\\ud800"])
    return post(f"{M}:predict",
                ('{"instances": ["' + escape + tail + '"]}').encode()), 400, (
        "plain")


def bom_valid(rng):
    return post(f"{M}:predict", b"\xef\xbb\xbf" + _json(_valid_body(rng))), (
        200), "plain"


def trailing_garbage(rng):
    garbage = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 50)))
    return post(f"{M}:predict", _json(_valid_body(rng)) + b" " + garbage), (
        200), "plain"


def valid(rng):
    return post(f"{M}:predict", _json(_valid_body(rng))), 200, "plain"


def random_bytes_body(rng):
    # Random bytes that cannot start a JSON value: always a parse error.
    first = bytes([rng.choice(b"!#%&')*+;<=>?@\\^`|~")])
    rest = bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 200)))
    return post(f"{M}:predict", first + rest), 400, "plain"


# (generator, weight): the model runs for the 200 classes, so they are rarer.
REST_CLASSES = [
    (truncated_json, 8), (deep_ignored, 1), (deep_unterminated, 2),
    (deep_input, 2), (wrong_type, 6), (bad_b64, 4), (big_version, 5),
    (absent_version, 5), (non_numeric_version, 5), (bad_path_char, 8),
    (bad_percent, 5), (encoded_unknown_name, 5), (outside_v1, 5),
    (traversal, 4), (other_method, 5), (head, 3), (unknown_method, 5),
    (both_or_neither, 6), (unknown_model, 5), (bad_content_length, 5),
    (short_body, 3), (bad_examples, 6), (invalid_utf8_outside_strings, 5),
    (lone_high_surrogate, 5), (bom_valid, 1), (trailing_garbage, 1),
    (valid, 2), (random_bytes_body, 6),
]


def _send(port, request, how):
    if how == "half-close":
        with socket.create_connection(("127.0.0.1", port), timeout=30) as (
            sock
        ):
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            answers = read_responses(sock, 1, timeout=30)
        return answers[0][0] if answers else None, b""
    answers = exchange(port, request, timeout=30, head=how == "head")
    if not answers:
        return "closed without an answer", b""
    status, headers, body = answers[0]
    if status != 200 and how != "head":
        assert headers.get("content-type") == "application/json", body[:200]
        assert isinstance(json.loads(body)["error"], str)
    assert b"Traceback" not in body
    return status, body


def _grpc_request(rng):
    """(method, request, expected code name) of a random bad gRPC request."""
    request = predict_pb2.PredictRequest()
    kind = rng.randrange(6)
    if kind != 0:
        request.model_spec.name = "reviews"
    tensor = tensor_pb2.TensorProto(dtype=7)
    size = rng.randint(1, 4)
    tensor.tensor_shape.dim.add(size=size)
    tensor.string_val.extend([b"a"] * size)
    if kind == 0:
        expected = "INVALID_ARGUMENT"  # Missing ModelSpec
    elif kind == 1:
        tensor.dtype = rng.choice([0, rng.randint(24, 100),
                                   rng.randint(124, 1 << 30)])
        expected = "INVALID_ARGUMENT"
    elif kind == 2:
        tensor.tensor_shape.dim[0].size = -rng.randint(1, 1 << 40)
        expected = "INVALID_ARGUMENT"
    elif kind == 3:
        # TF's FromProto refuses 2**40 elements (checked with
        # tf.io.parse_tensor); this server refuses more than 2**28.
        tensor.tensor_shape.dim[0].size = rng.randint(1 << 40, 1 << 50)
        expected = "INVALID_ARGUMENT"
    elif kind == 4:
        request.model_spec.name = _word(rng) + "_x"
        expected = "NOT_FOUND"
    else:
        request.model_spec.version.value = rng.randint(2, (1 << 63) - 1)
        expected = "NOT_FOUND"
    request.inputs["text"].CopyFrom(tensor)
    return request, expected


def _rss_mb(pid):
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def served(served_classifier):
    before = served_classifier.server.log().count("Internal error")
    yield served_classifier
    log = served_classifier.server.log()
    assert log.count("Internal error") == before, log[-4000:]


def test_fuzz(served):
    rng = random.Random(SEED)
    generators, weights = zip(*REST_CLASSES)
    draws = [(generator.__name__, *generator(rng)) for generator in
             rng.choices(generators, weights, k=REST_REQUESTS)]
    grpc_draws = [_grpc_request(rng) for _ in range(GRPC_REQUESTS)]
    port = served.rest_port
    pid = served.server.process.pid

    started = time.monotonic()
    failures = []
    baseline_mb = None
    with served.server.channel() as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

        def rest(draw):
            name, request, expected, how = draw
            status, body = _send(port, request, how)
            if status != expected:
                failures.append((name, expected, status, request[:160],
                                 body[:300]))

        def grpc_call(draw):
            request, expected = draw
            try:
                stub.Predict(request, timeout=30)
                code = "OK"
            except grpc.RpcError as error:
                code = error.code().name
                assert "Traceback" not in error.details()
            if code != expected:
                failures.append(("grpc", expected, code, str(request)[:160],
                                 ""))

        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            # The first WARM_UP requests of each kind, concurrently, build
            # the server's threads and allocator arenas before the baseline.
            for batch in (slice(0, WARM_UP), slice(WARM_UP, None)):
                jobs = [pool.submit(rest, draw) for draw in draws[batch]]
                jobs += [pool.submit(grpc_call, draw)
                         for draw in grpc_draws[batch]]
                for job in jobs:
                    job.result(timeout=120)
                if baseline_mb is None:
                    baseline_mb = _rss_mb(pid)
    elapsed = time.monotonic() - started
    assert not failures, f"{len(failures)} wrong statuses, e.g. {failures[:5]}"
    assert elapsed < 60, f"the fuzz run took {elapsed:.0f} s"

    # Still up, and still right.
    expected = served.predict_in_process(TEXTS)
    status, body = _send(port, post(f"{M}:predict",
                                    _json({"instances": TEXTS})), "plain")
    assert status == 200, body
    predictions = json.loads(body)["predictions"]
    np.testing.assert_allclose([p["probabilities"] for p in predictions],
                               expected["probabilities"], atol=1e-5)
    with served.server.channel() as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "reviews"
        request.inputs["text"].CopyFrom(tf.make_tensor_proto(TEXTS))
        response = stub.Predict(request, timeout=60)
        np.testing.assert_allclose(
            tf.make_ndarray(response.outputs["probabilities"]),
            expected["probabilities"], atol=1e-5)
        status_request = get_model_status_pb2.GetModelStatusRequest()
        status_request.model_spec.name = "reviews"
        model_stub = model_service_pb2_grpc.ModelServiceStub(channel)
        states = model_stub.GetModelStatus(status_request, timeout=60)
        assert [s.state for s in states.model_version_status] == [
            get_model_status_pb2.ModelVersionStatus.AVAILABLE]
    growth_mb = _rss_mb(pid) - baseline_mb
    assert growth_mb < RSS_GROWTH_BOUND_MB, (
        f"RSS grew {growth_mb:.0f} MB (baseline {baseline_mb:.0f} MB)"
    )
    print(f"fuzz: {len(draws)} REST + {len(grpc_draws)} gRPC requests in "
          f"{elapsed:.1f} s; RSS {baseline_mb:.0f} MB -> "
          f"{baseline_mb + growth_mb:.0f} MB")
