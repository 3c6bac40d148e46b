"""Serving signatures of BertTokenClassifier: raw text to labelled words.

- `serving_default`: `text`, string `[batch]`. The model's preprocessor
  splits it into words (`split_text`: at whitespace and punctuation, each
  CJK character a word) and tokenizes them; each word gets the label of
  its first token. Out, `[batch, max_words]` and padded:
  `words` (string, ""), `word_starts`, `word_ends` (int32 character
  offsets, -1: `text[start:end] == word` in Python), `word_label_ids`
  (int32, -1), `word_labels` (string, ""), `word_scores` (float32
  softmax probability of the label, 0); `[batch]` int32 `num_words` and
  `num_labeled_words`. Words past `sequence_length` tokens are still
  listed, with no label (id -1, label "", score 0):
  `num_labeled_words < num_words` tells that the text was cut. Entities
  merged from BIO / IOB2 word labels, `[batch, max_entities]`:
  `entity_texts`, `entity_labels` (string, ""), `entity_starts`,
  `entity_ends` (int32 character offsets, -1); `[batch]` `num_entities`.
- `predict_token_ids`: `token_ids`, `segment_ids`, `padding_mask` int32
  `[batch, sequence_length]`; out: `logits` and `probabilities` float32
  `[batch, sequence_length, num_classes]`.

`tfzoo.models.bert.word_labels.label_words` computes `serving_default`'s
outputs; in-process, `BertTokenClassifier.predict_words` runs the same
code.
"""

import tensorflow as tf

from tfzoo.export import warmup
from tfzoo.export.token_id_signature import token_id_signature
from tfzoo.models.bert.word_labels import label_words
from tfzoo.models.task_preprocessing import label_names, require_preprocessor
from tfzoo.preprocessing.bert_token_classifier_preprocessor import (
    BertTokenClassifierPreprocessor,
)

def token_classifier_signatures(model):
    """`{name: tf.function}` for a `BertTokenClassifier` (see the module
    doc)."""
    preprocessor = require_preprocessor(model, BertTokenClassifierPreprocessor)
    label_names(model)  # fails early if they do not match the model
    text_spec = tf.TensorSpec([None], tf.string)

    @tf.function(input_signature=[text_spec], autograph=False)
    def serve_text(text):
        return label_words(model, text)

    def probabilities(logits):
        logits = tf.cast(logits, "float32")
        return {
            "logits": logits,
            "probabilities": tf.nn.softmax(logits, axis=-1),
        }

    predict_token_ids = token_id_signature(
        model, preprocessor.sequence_length, probabilities
    )

    return {
        "serving_default": serve_text,
        "predict_token_ids": predict_token_ids,
    }


def token_classifier_warmup_logs(model):
    """One request per signature and length bucket (in words of one token
    each, so `full` fills the sequence and `over` is cut)."""
    preprocessor = model.preprocessor
    logs = []
    buckets = warmup.length_buckets(
        preprocessor.sequence_length - 2, preprocessor.sequence_length
    )
    for num_tokens in buckets.values():
        text = warmup.filler_text(preprocessor.tokenizer, num_tokens)
        words, _, _ = preprocessor.split_text([text])
        features = preprocessor(words)
        logs += [
            warmup.predict_log("serving_default", {"text": [text]}),
            warmup.predict_log(
                "predict_token_ids",
                {name: value.numpy() for name, value in features.items()},
            ),
        ]
    return logs
