"""Exported tfzoo models and a real server process serving them."""

import os

import numpy as np
import pytest

from serving.local_server import REPOSITORY
from serving.local_server import LocalServer
from tfzoo.data import read_classification_file
from tfzoo.data import sample_path
from tfzoo.export import export_saved_model
from tfzoo.models import BertClassifier
from tfzoo.preprocessing import BertClassifierPreprocessor
from tfzoo.tokenizers import WordPieceTokenizer
from tfzoo.tokenizers import train_word_piece_vocabulary

LABEL_NAMES = ["negative", "positive"]
BATCHING_CONFIG = os.path.join(REPOSITORY, "serving", "config",
                               "batching.config")


@pytest.fixture(scope="session")
def classifier():
    """A small raw-text review classifier, trained briefly."""
    train, _ = read_classification_file(sample_path("sentiment_train.jsonl"))
    vocabulary = train_word_piece_vocabulary(train["text"], 1000)
    preprocessor = BertClassifierPreprocessor(
        WordPieceTokenizer(vocabulary), sequence_length=32,
        label_names=LABEL_NAMES,
    )
    model = BertClassifier.from_preset(
        "bert_tiny", vocabulary_size=len(vocabulary), max_sequence_length=32,
        preprocessor=preprocessor,
    )
    model.compile()
    model.fit(train["text"], train["label"], batch_size=16, epochs=1,
              verbose=0)
    return model


@pytest.fixture(scope="session")
def classifier_base_path(classifier, tmp_path_factory):
    base_path = tmp_path_factory.mktemp("models") / "reviews"
    export_saved_model(classifier, str(base_path))
    return str(base_path)


class ServedClassifier:
    """Where the classifier is served, and what it says in-process."""

    model_name = "reviews"

    def __init__(self, server, classifier):
        self.server = server
        self.grpc_port = server.grpc_port
        self.rest_port = server.rest_port
        self.classifier = classifier

    def predict_in_process(self, texts):
        logits = self.classifier.predict(list(texts), verbose=0)
        probabilities = np.exp(logits - logits.max(-1, keepdims=True))
        probabilities /= probabilities.sum(-1, keepdims=True)
        label_ids = np.argmax(logits, -1)
        return {
            "logits": logits,
            "probabilities": probabilities,
            "label_ids": label_ids,
            "label_names": np.array([LABEL_NAMES[i] for i in label_ids]),
        }


@pytest.fixture(scope="session")
def served_classifier(classifier, classifier_base_path, tmp_path_factory):
    """The classifier behind a batching server on free loopback ports."""
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    flags = [
        "--model_name=reviews",
        f"--model_base_path={classifier_base_path}",
        "--enable_batching",
        f"--batching_parameters_file={BATCHING_CONFIG}",
    ]
    with LocalServer(flags, "reviews", str(log_path)) as server:
        yield ServedClassifier(server, classifier)
