"""Exports task models as SavedModels that TensorFlow Serving loads."""

import os
import shutil
import uuid

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import model_pb2
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_log_pb2

from tfzoo.export.op_check import check_servable
from tfzoo.models.bert.bert_classifier import BertClassifier

CLASSIFY_METHOD = "tensorflow/serving/classify"
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
WARMUP_TEXTS = ["a short warmup sentence", "another one"]


def next_version(base_path):
    """1 + the highest numeric version directory in `base_path` (or 1)."""
    if not os.path.isdir(base_path):
        return 1
    versions = [int(name) for name in os.listdir(base_path) if name.isdigit()]
    return max(versions, default=0) + 1


def export_saved_model(model, base_path, version=None, text_pair=False):
    """Writes `base_path/<version>/`, a SavedModel TF Serving can load.

    Today for `BertClassifier` with a preprocessor. Signatures:

    - `serving_default`: raw text in (`text`, plus `text_pair` when
      `text_pair=True`), tokenized in the graph by the model's own
      preprocessor; out: `logits`, `probabilities` (float32), `label_ids`
      and `label_names`.
    - `predict_token_ids`: `token_ids`, `segment_ids`, `padding_mask` in;
      `logits` and `probabilities` out.
    - `classify`: TF Serving's Classify API; `inputs` holds serialized
      `tf.Example`s with a `text` (and `text_pair`) bytes feature; out:
      `classes` and `scores`.

    The version (default: one above the highest present) is written to a
    temporary directory, checked for ops TF Serving lacks, then renamed
    into place, so a server never sees half a version. Warmup requests go
    to `assets.extra/tf_serving_warmup_requests`. Returns the version path.
    """
    if not isinstance(model, BertClassifier):
        raise NotImplementedError(
            f"export_saved_model supports BertClassifier so far, got "
            f"{type(model).__name__}."
        )
    if model.preprocessor is None:
        raise ValueError(
            "Exporting a raw-text signature needs the model's preprocessor: "
            "build the model with preprocessor=BertClassifierPreprocessor(...)."
        )
    if model.is_regression:
        raise NotImplementedError(
            "Exporting regression classifiers (num_classes=1) is not "
            "supported yet."
        )
    version = next_version(base_path) if version is None else int(version)
    final_path = os.path.join(base_path, str(version))
    if os.path.exists(final_path):
        raise FileExistsError(
            f"Version {version} already exists at {final_path}; pass another "
            f"version or leave it out to take the next one."
        )
    os.makedirs(base_path, exist_ok=True)
    temporary = os.path.join(
        base_path, f".tmp-{version}-{uuid.uuid4().hex[:8]}"
    )
    try:
        module = _classifier_module(model, text_pair)
        tf.saved_model.save(
            module,
            temporary,
            signatures={
                "serving_default": module.serve_text,
                "predict_token_ids": module.serve_token_ids,
                "classify": module.classify,
            },
        )
        _set_method_name(temporary, "classify", CLASSIFY_METHOD)
        _write_warmup(temporary, text_pair)
        check_servable(temporary)
        os.rename(temporary, final_path)
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary)
    return final_path


def _classifier_module(model, text_pair):
    preprocessor = model.preprocessor
    label_names = preprocessor.label_names or [
        str(index) for index in range(model.num_classes)
    ]
    length = preprocessor.sequence_length
    module = tf.Module()
    module.model = model
    module.preprocessor = preprocessor
    module.label_table = tf.constant([str(name) for name in label_names])

    def outputs(features):
        logits = tf.cast(model(features, training=False), "float32")
        label_ids = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return {
            "logits": logits,
            "probabilities": tf.nn.softmax(logits, axis=-1),
            "label_ids": label_ids,
            "label_names": tf.gather(module.label_table, label_ids),
        }

    def texts_to_features(texts):
        return preprocessor(texts if text_pair else texts[0])

    text_spec = tf.TensorSpec([None], tf.string)
    if text_pair:
        @tf.function(input_signature=[text_spec, text_spec])
        def serve_text(text, text_pair):
            return outputs(texts_to_features((text, text_pair)))
    else:
        @tf.function(input_signature=[text_spec])
        def serve_text(text):
            return outputs(texts_to_features((text,)))

    id_spec = tf.TensorSpec([None, length], tf.int32)

    @tf.function(input_signature=[id_spec, id_spec, id_spec])
    def serve_token_ids(token_ids, segment_ids, padding_mask):
        result = outputs({
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": padding_mask,
        })
        return {key: result[key] for key in ("logits", "probabilities")}

    feature_spec = {"text": tf.io.FixedLenFeature([], tf.string)}
    if text_pair:
        feature_spec["text_pair"] = tf.io.FixedLenFeature([], tf.string)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def classify(inputs):
        examples = tf.io.parse_example(inputs, feature_spec)
        texts = (examples["text"],)
        if text_pair:
            texts = (examples["text"], examples["text_pair"])
        result = outputs(texts_to_features(texts))
        batch = tf.shape(inputs)[0]
        classes = tf.tile(module.label_table[None], [batch, 1])
        return {"classes": classes, "scores": result["probabilities"]}

    module.serve_text = serve_text
    module.serve_token_ids = serve_token_ids
    module.classify = classify
    return module


def _set_method_name(export_dir, signature, method_name):
    """TF2 saves every signature as Predict; Classify needs its own."""
    path = os.path.join(export_dir, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as file:
        proto.ParseFromString(file.read())
    for meta_graph in proto.meta_graphs:
        meta_graph.signature_def[signature].method_name = method_name
    with open(path, "wb") as file:
        file.write(proto.SerializeToString())


def _write_warmup(export_dir, text_pair):
    """One Predict request per signature, replayed by TF Serving at load."""
    os.makedirs(os.path.join(export_dir, "assets.extra"), exist_ok=True)
    inputs = {"text": WARMUP_TEXTS}
    if text_pair:
        inputs["text_pair"] = WARMUP_TEXTS
    with tf.io.TFRecordWriter(os.path.join(export_dir, WARMUP_FILE)) as out:
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(signature_name="serving_default")
        )
        for name, values in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(values))
        log = prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)
        )
        out.write(log.SerializeToString())
