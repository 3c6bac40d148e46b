"""Token classifier and QA exports answer raw text over gRPC and REST
exactly as the models do in-process."""

import os

import numpy as np
import pytest

from serving.client import GrpcPredictionClient
from serving.client import RestPredictionClient
from serving.local_server import LocalServer

SENTENCES = ["Ada Lovelace met Charles Babbage in London.",
             "café naïve 東京 in Oslo"]
QUESTIONS = ["Which city?", "Which city?"]
CONTEXTS = ["the park and the mat then Oslo",
            "cat dog mat park engine program first wrote worked visited "
            "art far away serves in the London"]  # several windows


@pytest.fixture(scope="module")
def server(token_classifier_export, question_answerer_export, tmp_path_factory):
    directory = tmp_path_factory.mktemp("tasks")
    config = directory / "models.config"
    config.write_text(
        "model_config_list {\n"
        f'  config {{ name: "ner" base_path: '
        f'"{os.path.dirname(token_classifier_export)}" '
        'model_platform: "tensorflow" }\n'
        f'  config {{ name: "qa" base_path: '
        f'"{os.path.dirname(question_answerer_export)}" '
        'model_platform: "tensorflow" }\n'
        "}\n"
    )
    flags = [f"--model_config_file={config}", "--enable_batching"]
    with LocalServer(flags, "qa", str(directory / "log")) as running:
        yield running


def clients(server, model):
    return [GrpcPredictionClient(model, port=server.grpc_port),
            RestPredictionClient(model, url=server.rest_url)]


def assert_same(served, expected):
    assert sorted(served) == sorted(expected)
    for name, value in expected.items():
        if value.dtype.kind in "fc":
            np.testing.assert_allclose(served[name], value, atol=1e-5,
                                       err_msg=name)
        else:
            assert served[name].tolist() == value.tolist(), name


def test_token_classifier_words_and_entities(server, token_classifier):
    expected = token_classifier.predict_words(SENTENCES)
    for client in clients(server, "ner"):
        with client:
            assert_same(client.predict({"text": SENTENCES}), expected)
    words = expected["words"][1][:expected["num_words"][1]]
    starts = expected["word_starts"][1]
    ends = expected["word_ends"][1]
    assert [SENTENCES[1][s:e] for s, e in zip(starts, ends)][:len(words)] == (
        words.tolist()
    )


def test_question_answerer_answers(server, question_answerer):
    expected = question_answerer.predict_answers(QUESTIONS, CONTEXTS)
    assert expected["answer_text"].tolist() == ["Oslo", "London"]
    for client in clients(server, "qa"):
        with client:
            served = client.predict({"question": QUESTIONS,
                                     "context": CONTEXTS})
        assert_same(served, expected)
    for context, start, end, text in zip(
        CONTEXTS, expected["answer_start"], expected["answer_end"],
        expected["answer_text"],
    ):
        assert context[start:end] == text
