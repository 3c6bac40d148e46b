"""Replays `assets.extra/tf_serving_warmup_requests` when a version loads.

Like TF Serving: at most 1000 `PredictionLog` records; Predict, Classify
and Regress logs are run against the new version before it serves, and a
record that fails makes the load fail.
"""

import os

import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from serving.errors import invalid_argument
from serving.example_inputs import serialized_examples
from serving.tensor_protos import array_from_proto

WARMUP_PATH = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_WARMUP_RECORDS = 1000


def replay_warmup(servable):
    """Runs every warmup record of `servable`; returns how many ran."""
    path = os.path.join(servable.path, WARMUP_PATH)
    if not os.path.exists(path):
        return 0
    count = 0
    for record in tf.data.TFRecordDataset(path):
        count += 1
        if count > MAX_WARMUP_RECORDS:
            raise invalid_argument(
                f"Number of warmup records exceeds the maximum "
                f"({MAX_WARMUP_RECORDS}) at {path}"
            )
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        _run(servable, log)
    return count


def _run(servable, log):
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        request = log.predict_log.request
        inputs = {
            name: array_from_proto(proto)
            for name, proto in request.inputs.items()
        }
        servable.predict(
            request.model_spec.signature_name, inputs, request.output_filter
        )
    elif kind in ("classify_log", "regress_log"):
        request = getattr(log, kind).request
        examples = serialized_examples(request.input)
        run = servable.classify if kind == "classify_log" else servable.regress
        run(request.model_spec.signature_name, examples)
    else:
        raise invalid_argument(f"Unsupported log_type for warmup: {kind}")
