"""The local server against TF Serving's stubs and REST API, on loopback."""

import base64
import concurrent.futures

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import classification_pb2
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

TEXTS = ["The staff were lovely and the room was clean.",
         "It broke after a day!", "naïve café 😀 東京"]


def predict_request(texts, **spec):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = spec.pop("name", "reviews")
    for key, value in spec.items():
        if key == "version":
            request.model_spec.version.value = value
        else:
            setattr(request.model_spec, key, value)
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(texts))
    return request


@pytest.fixture(scope="module")
def stub(served_classifier):
    with served_classifier.server.channel() as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture(scope="module")
def model_stub(served_classifier):
    with served_classifier.server.channel() as channel:
        yield model_service_pb2_grpc.ModelServiceStub(channel)


def rest(served, method, path, **kwargs):
    url = f"{served.server.rest_url}/v1/models/{path}"
    return requests.request(method, url, timeout=60, **kwargs)


def test_grpc_predict_equals_in_process(served_classifier, stub):
    response = stub.Predict(predict_request(TEXTS), timeout=60)
    outputs = {k: tf.make_ndarray(v) for k, v in response.outputs.items()}
    expected = served_classifier.predict_in_process(TEXTS)
    np.testing.assert_allclose(outputs["logits"], expected["logits"],
                               atol=1e-5)
    np.testing.assert_allclose(outputs["probabilities"],
                               expected["probabilities"], atol=1e-5)
    assert outputs["label_ids"].tolist() == expected["label_ids"].tolist()
    assert [name.decode() for name in outputs["label_names"]] == (
        expected["label_names"].tolist()
    )
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"


def test_rest_row_and_columnar_formats_equal_in_process(served_classifier):
    expected = served_classifier.predict_in_process(TEXTS)
    rows = rest(served_classifier, "POST", "reviews:predict",
                json={"instances": TEXTS})
    assert rows.status_code == 200, rows.text
    predictions = rows.json()["predictions"]
    np.testing.assert_allclose([p["logits"] for p in predictions],
                               expected["logits"], atol=1e-5)
    assert [p["label_names"] for p in predictions] == (
        expected["label_names"].tolist()
    )
    b64 = [{"b64": base64.b64encode(t.encode()).decode()} for t in TEXTS]
    columns = rest(served_classifier, "POST", "reviews/versions/1:predict",
                   json={"inputs": {"text": b64}})
    assert columns.status_code == 200, columns.text
    outputs = columns.json()["outputs"]
    np.testing.assert_allclose(outputs["probabilities"],
                               expected["probabilities"], atol=1e-5)
    assert outputs["label_ids"] == expected["label_ids"].tolist()


def test_classify_over_grpc_and_rest(served_classifier, stub):
    expected = served_classifier.predict_in_process(TEXTS[:2])["probabilities"]
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "reviews"
    request.model_spec.signature_name = "classify"
    for text in TEXTS[:2]:
        example = request.input.example_list.examples.add()
        example.features.feature["text"].bytes_list.value.append(text.encode())
    response = stub.Classify(request, timeout=60)
    for result, row in zip(response.result.classifications, expected):
        assert [c.label for c in result.classes] == ["negative", "positive"]
        np.testing.assert_allclose([c.score for c in result.classes], row,
                                   atol=1e-5)
    reply = rest(served_classifier, "POST", "reviews:classify", json={
        "signature_name": "classify",
        "examples": [{"text": text} for text in TEXTS[:2]],
    })
    assert reply.status_code == 200, reply.text
    result = reply.json()["results"]
    assert [[pair[0] for pair in row] for row in result] == [
        ["negative", "positive"]] * 2
    np.testing.assert_allclose([[pair[1] for pair in row] for row in result],
                               expected, atol=1e-5)


def test_metadata_and_status(served_classifier, stub, model_stub):
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "reviews"
    request.metadata_field.append("signature_def")
    response = stub.GetModelMetadata(request, timeout=60)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    assert {"serving_default", "predict_token_ids", "classify"} <= set(
        signatures.signature_def
    )
    assert list(signatures.signature_def["serving_default"].inputs) == ["text"]

    reply = rest(served_classifier, "GET", "reviews/metadata").json()
    assert reply["model_spec"] == {"name": "reviews", "signature_name": "",
                                   "version": "1"}
    assert "classify" in reply["metadata"]["signature_def"]["signature_def"]

    status_request = get_model_status_pb2.GetModelStatusRequest()
    status_request.model_spec.name = "reviews"
    status = model_stub.GetModelStatus(status_request, timeout=60)
    assert [(s.version, s.state) for s in status.model_version_status] == [
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE)
    ]
    assert rest(served_classifier, "GET", "reviews").json() == {
        "model_version_status": [{
            "version": "1", "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""},
        }]
    }


GRPC_ERRORS = [
    ("unknown model", predict_request(["x"], name="nope"),
     grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(nope)"),
    ("unknown version", predict_request(["x"], version=9),
     grpc.StatusCode.NOT_FOUND, "Specific(reviews, 9)"),
    ("unknown label", predict_request(["x"], version_label="canary"),
     grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version label"),
    ("unknown signature", predict_request(["x"], signature_name="nope"),
     grpc.StatusCode.FAILED_PRECONDITION,
     'Serving signature key "nope" not found.'),
]


@pytest.mark.parametrize("case", GRPC_ERRORS, ids=[c[0] for c in GRPC_ERRORS])
def test_grpc_error_codes(stub, case):
    _, request, code, message = case
    with pytest.raises(grpc.RpcError) as raised:
        stub.Predict(request, timeout=60)
    assert raised.value.code() == code
    assert message in raised.value.details()


def test_grpc_missing_input_and_wrong_dtype(stub):
    missing = predict_pb2.PredictRequest()
    missing.model_spec.name = "reviews"
    with pytest.raises(grpc.RpcError) as raised:
        stub.Predict(missing, timeout=60)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Missing but required: {text}" in raised.value.details()

    wrong = predict_pb2.PredictRequest()
    wrong.model_spec.name = "reviews"
    wrong.inputs["text"].CopyFrom(tf.make_tensor_proto([1.0, 2.0]))
    with pytest.raises(grpc.RpcError) as raised:
        stub.Predict(wrong, timeout=60)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "to be string but float32" in raised.value.details()


REST_ERRORS = [
    ("nope:predict", {"instances": ["x"]}, 404, "Latest(nope)"),
    ("reviews/versions/9:predict", {"instances": ["x"]}, 404,
     "Specific(reviews, 9)"),
    ("reviews:predict", {"signature_name": "nope", "instances": ["x"]}, 400,
     'Serving signature name: "nope" not found in signature def'),
    ("reviews:predict", {"inputs": {"other": ["x"]}}, 400,
     "Missing named input: text in 'inputs' object."),
    ("reviews:predict", {"instances": [1.5]}, 400,
     "is not of expected type: string"),
    ("reviews:predict", {"instances": ["x"], "inputs": ["x"]}, 400,
     "only one of 'inputs' or 'instances'"),
    ("reviews:classify", {"examples": [{"text": "x"}]}, 400,
     "Expected classification signature method_name"),
]


@pytest.mark.parametrize("case", REST_ERRORS, ids=[c[3] for c in REST_ERRORS])
def test_rest_error_codes(served_classifier, case):
    path, body, status, message = case
    reply = rest(served_classifier, "POST", path, json=body)
    assert reply.status_code == status, reply.text
    assert message in reply.json()["error"]


def test_rest_status_of_unknown_model_is_404(served_classifier):
    reply = rest(served_classifier, "GET", "nope")
    assert reply.status_code == 404
    assert reply.json() == {"error": "Could not find any versions of model nope"}


def test_eight_concurrent_clients_200_requests_each(served_classifier, stub):
    expected = served_classifier.predict_in_process(TEXTS)["label_ids"]

    def client(index):
        errors = 0
        for step in range(200):
            text = TEXTS[(index + step) % len(TEXTS)]
            try:
                response = stub.Predict(predict_request([text]), timeout=60)
            except grpc.RpcError:
                errors += 1
                continue
            label = tf.make_ndarray(response.outputs["label_ids"])[0]
            if label != expected[(index + step) % len(TEXTS)]:
                errors += 1
        return errors

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        errors = list(pool.map(client, range(8)))
    assert errors == [0] * 8


def malformed_rest_bodies():
    rng = np.random.default_rng(7)
    bodies = [
        b"", b"null", b"[]", b"{", b"\xff\xfe\x00", b'{"instances": null}',
        b'{"instances": []}', b'{"instances": [[["x"]], "y"]}',
        b'{"instances": [{"text": "a"}, {"other": "b"}]}',
        b'{"instances": [{"b64": "!!!"}]}', b'{"inputs": {"text": 5}}',
        b'{"signature_name": 7, "instances": ["x"]}',
        b'{"inputs": {"text": [[' * 200 + b']]' * 200 + b"}}",
        b'{"instances": [1e999]}', b'{"examples": "x"}',
    ]
    bodies += [rng.bytes(int(rng.integers(1, 300))) for _ in range(20)]
    return bodies


def malformed_tensor_protos():
    protos = []
    negative = tf.make_tensor_proto(["a"])
    negative.tensor_shape.dim[0].size = -3
    protos.append(negative)
    huge = tf.make_tensor_proto(["a"])
    huge.tensor_shape.dim[0].size = 1 << 40
    protos.append(huge)
    content = tf.make_tensor_proto(np.ones([2, 2], np.float32))
    content.tensor_content = content.tensor_content[:5]
    protos.append(content)
    matrix = tf.make_tensor_proto([["a", "b"], ["c", "d"]])
    protos.append(matrix)
    scalar = tf.make_tensor_proto("a")
    protos.append(scalar)
    resource = tf.make_tensor_proto(["a"])
    resource.dtype = 20  # DT_RESOURCE
    protos.append(resource)
    return protos


def test_fuzzed_requests_leave_the_server_serving(served_classifier, stub):
    for body in malformed_rest_bodies():
        reply = requests.post(
            f"{served_classifier.server.rest_url}/v1/models/reviews:predict",
            data=body, timeout=60,
        )
        assert 400 <= reply.status_code < 500, (body[:80], reply.text)
        assert "error" in reply.json()
    for proto in malformed_tensor_protos():
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "reviews"
        request.inputs["text"].CopyFrom(proto)
        with pytest.raises(grpc.RpcError) as raised:
            stub.Predict(request, timeout=60)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (
            raised.value.details()
        )
    garbage = requests.get(
        f"{served_classifier.server.rest_url}/v2/whatever", timeout=60
    )
    assert garbage.status_code == 404  # outside /v1/, as in TF Serving
    assert served_classifier.server.process.poll() is None
    response = stub.Predict(predict_request(TEXTS), timeout=60)
    assert len(response.outputs["label_ids"].int_val) == len(TEXTS)


def test_tensor_protos_tf_accepts_are_served(stub):
    """What TF's Tensor::FromProto accepts (checked with tf.io.parse_tensor):
    fewer values than the shape (the last repeats), unknown_rank."""
    too_few = tf.make_tensor_proto(["a", "b"])
    too_few.tensor_shape.dim[0].size = 5
    unknown = tf.make_tensor_proto(["a"])
    unknown.tensor_shape.unknown_rank = True
    for proto, size in ((too_few, 5), (unknown, 1)):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "reviews"
        request.inputs["text"].CopyFrom(proto)
        outputs = stub.Predict(request, timeout=60).outputs
        assert len(outputs["label_ids"].int_val) == size


def test_an_empty_batch_gets_empty_outputs(stub):
    request = predict_request(np.array([], dtype=object))
    outputs = stub.Predict(request, timeout=60).outputs
    assert tf.make_ndarray(outputs["probabilities"]).shape == (0, 2)
    assert tf.make_ndarray(outputs["label_names"]).shape == (0,)
