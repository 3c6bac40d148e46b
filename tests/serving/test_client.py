"""Tests for `serving.client`: what both clients do alike.

Argument checks and an unreachable server need no model; the rest calls
a model served by `python -m serving.server` (the `served_classifier`
fixture) over both protocols. Each client's requests against scripted
servers are in `test_grpc_client.py` and `test_rest_client.py`.
"""

import time

import grpc
import numpy as np
import pytest

from serving.client import GrpcPredictionClient
from serving.client import RestPredictionClient
from serving.errors import ServingError
from serving.local_server import free_port

CODE = grpc.StatusCode


def client_for(protocol, port, model="m", **kwargs):
    if protocol == "grpc":
        return GrpcPredictionClient(model, "127.0.0.1", port, **kwargs)
    return RestPredictionClient(model, f"http://127.0.0.1:{port}", **kwargs)


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
