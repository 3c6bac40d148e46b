"""docker-compose's TF Serving flags and configs work on the local server."""

import os

import numpy as np
import yaml

from serving.client import GrpcPredictionClient
from serving.local_server import REPOSITORY
from serving.local_server import LocalServer
from tests.serving.conftest import LABEL_NAMES

CONFIG_DIR = os.path.join(REPOSITORY, "serving", "config")


def test_compose_flags_and_configs_serve_on_the_local_server(
    classifier, classifier_base_path, tmp_path
):
    with open(os.path.join(REPOSITORY, "serving", "docker-compose.yml")) as f:
        service = yaml.safe_load(f)["services"]["tensorflow-serving"]
    assert service["image"] == "tensorflow/serving:2.21.0"
    assert "/models/reviews:ro" in service["volumes"][0]

    # The container sees the models at /models/reviews and the configs at
    # /config; point both at this machine's paths, change nothing else.
    with open(os.path.join(CONFIG_DIR, "models.config")) as file:
        models_config = file.read()
    assert 'base_path: "/models/reviews"' in models_config
    local_config = tmp_path / "models.config"
    local_config.write_text(
        models_config.replace("/models/reviews", classifier_base_path)
    )
    flags = [
        flag.replace("/config/models.config", str(local_config))
        .replace("/config/", CONFIG_DIR + "/")
        for flag in service["command"]
    ]
    with LocalServer(flags, "reviews", str(tmp_path / "log")) as server:
        with GrpcPredictionClient("reviews", port=server.grpc_port) as client:
            texts = ["Lovely staff.", "Broken on day one."]
            outputs = client.predict({"text": texts})
    expected = np.argmax(classifier.predict(texts, verbose=0), -1)
    assert outputs["label_names"].tolist() == [LABEL_NAMES[i] for i in expected]
