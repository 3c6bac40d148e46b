"""Serving signatures of BertClassifier: raw text to labels.

- `serving_default`: `text` (and `text_pair` for pair tasks), string
  `[batch]`, tokenized in the graph by the model's preprocessor; out:
  `logits` and `probabilities` float32 `[batch, num_classes]`,
  `label_ids` int32 `[batch]` and `label_names` string `[batch]`.
- `predict_token_ids`: `token_ids`, `segment_ids`, `padding_mask` int32
  `[batch, sequence_length]`; out: `logits` and `probabilities`.
- `classify` (TF Serving's Classify API): serialized `tf.Example`s with a
  `text` (and `text_pair`) bytes feature in `inputs`; out: `classes`
  string `[batch, num_classes]` and `scores` float32.
"""

import tensorflow as tf

from tfzoo.export import warmup
from tfzoo.models.task_preprocessing import label_names, require_preprocessor
from tfzoo.preprocessing.length_buckets import call_on_length_bucket
from tfzoo.preprocessing.bert_classifier_preprocessor import (
    BertClassifierPreprocessor,
)

CLASSIFY_METHOD = "tensorflow/serving/classify"
METHOD_NAMES = {"classify": CLASSIFY_METHOD}


def classifier_signatures(model, text_pair=False):
    """`{name: tf.function}` for a `BertClassifier` (see the module doc)."""
    preprocessor = require_preprocessor(model, BertClassifierPreprocessor)
    if model.is_regression:
        raise NotImplementedError(
            "Exporting regression classifiers (num_classes=1) is not "
            "supported yet."
        )
    label_table = tf.constant(label_names(model))
    text_names = ["text", "text_pair"] if text_pair else ["text"]

    def outputs(features):
        logits = tf.cast(call_on_length_bucket(model, features), "float32")
        label_ids = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return {
            "logits": logits,
            "probabilities": tf.nn.softmax(logits, axis=-1),
            "label_ids": label_ids,
            "label_names": tf.gather(label_table, label_ids),
        }

    def text_outputs(texts):
        return outputs(preprocessor(texts if text_pair else texts[0]))

    text_spec = tf.TensorSpec([None], tf.string)
    if text_pair:
        @tf.function(input_signature=[text_spec, text_spec], autograph=False)
        def serve_text(text, text_pair):
            return text_outputs((text, text_pair))
    else:
        @tf.function(input_signature=[text_spec], autograph=False)
        def serve_text(text):
            return text_outputs((text,))

    id_spec = tf.TensorSpec([None, preprocessor.sequence_length], tf.int32)

    @tf.function(
        input_signature=[id_spec, id_spec, id_spec], autograph=False
    )
    def predict_token_ids(token_ids, segment_ids, padding_mask):
        result = outputs({
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": padding_mask,
        })
        return {key: result[key] for key in ("logits", "probabilities")}

    feature_spec = {
        name: tf.io.FixedLenFeature([], tf.string) for name in text_names
    }

    @tf.function(input_signature=[text_spec], autograph=False)
    def classify(inputs):
        examples = tf.io.parse_example(inputs, feature_spec)
        result = text_outputs(tuple(examples[name] for name in text_names))
        classes = tf.tile(label_table[None], [tf.shape(inputs)[0], 1])
        return {"classes": classes, "scores": result["probabilities"]}

    return {
        "serving_default": serve_text,
        "predict_token_ids": predict_token_ids,
        "classify": classify,
    }


def classifier_warmup_logs(model, text_pair=False):
    """One request per signature and length bucket (for pairs, each
    bucket's tokens are split between the two texts)."""
    preprocessor = model.preprocessor
    tokenizer = preprocessor.tokenizer
    length = preprocessor.sequence_length
    capacity = length - 3 if text_pair else length - 2
    logs = []
    for num_tokens in warmup.length_buckets(capacity, length).values():
        if text_pair:
            second = num_tokens // 2
            texts = {
                "text": warmup.filler_text(tokenizer, num_tokens - second),
                "text_pair": warmup.filler_text(tokenizer, second),
            }
            features = preprocessor(([texts["text"]], [texts["text_pair"]]))
        else:
            texts = {"text": warmup.filler_text(tokenizer, num_tokens)}
            features = preprocessor([texts["text"]])
        logs += [
            warmup.predict_log(
                "serving_default",
                {name: [text] for name, text in texts.items()},
            ),
            warmup.predict_log(
                "predict_token_ids",
                {name: value.numpy() for name, value in features.items()},
            ),
            warmup.classify_log("classify", [texts]),
        ]
    return logs
