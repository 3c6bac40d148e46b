"""BERT for extractive question answering."""

import keras
import tensorflow as tf

from tfzoo.layers.span_head import SpanHead
from tfzoo.models.bert import answer_spans
from tfzoo.models.bert.bert_backbone import BertBackbone, bert_initializer
from tfzoo.models.task import Task, weighted_mean
from tfzoo.preprocessing.bert_question_answerer_preprocessor import (
    BertQuestionAnswererPreprocessor,
)


def _span_labels(y):
    """Returns (start, end) from a dict or a pair of label tensors."""
    if isinstance(y, dict):
        return y["start_positions"], y["end_positions"]
    start, end = y
    return start, end


@keras.saving.register_keras_serializable(package="tfzoo")
class BertQuestionAnswerer(Task):
    """Predicts an answer span in the context: start and end logits.

    Inputs pack `[CLS] question [SEP] context [SEP]`. Outputs a dict of
    float32 `start_logits` and `end_logits`, `[batch, length]`, with padded
    positions scored very low. Labels are a dict of `start_positions` and
    `end_positions` (token indices), or a `(start, end)` pair. The default
    loss averages the two cross-entropies; the metrics are start, end and
    exact-span accuracy.

    Example:

    >>> import numpy as np
    >>> model = BertQuestionAnswerer.from_preset(
    ...     "bert_tiny", vocabulary_size=100
    ... )
    >>> inputs = {
    ...     "token_ids": np.ones((2, 8), "int32"),
    ...     "segment_ids": np.zeros((2, 8), "int32"),
    ...     "padding_mask": np.ones((2, 8), "int32"),
    ... }
    >>> model.predict(inputs, verbose=0)["start_logits"].shape
    (2, 8)
    """

    backbone_class = BertBackbone
    preprocessor_class = BertQuestionAnswererPreprocessor
    serving_kind = "question_answerer"

    def __init__(self, backbone, **kwargs):
        # === Layers ===
        self.backbone = backbone
        self.span_head = SpanHead(
            kernel_initializer=bert_initializer(),
            dtype=backbone.dtype_policy,
            name="span_head",
        )
        # === Functional model ===
        inputs = backbone.input
        sequence = backbone(inputs)["sequence_output"]
        start_logits, end_logits = self.span_head(
            sequence, inputs["padding_mask"]
        )
        super().__init__(
            inputs=inputs,
            outputs={"start_logits": start_logits, "end_logits": end_logits},
            **kwargs,
        )
        # === Metrics ===
        self.start_accuracy = keras.metrics.SparseCategoricalAccuracy(
            name="start_accuracy"
        )
        self.end_accuracy = keras.metrics.SparseCategoricalAccuracy(
            name="end_accuracy"
        )
        self.span_accuracy = keras.metrics.Mean(name="span_accuracy")

    def predict_answers(self, questions, contexts, max_answer_length=30,
                        batch_size=32):
        """The best answer span in each context, as the exported model
        serves it.

        Needs a `BertQuestionAnswererPreprocessor`. Every window of a long
        context is scored, and the best span over all of them is chosen.
        Returns a dict of numpy arrays: `answer_text` (`str`),
        `answer_start`, `answer_end` (character offsets:
        `context[start:end] == answer_text`) and `score` (start logit +
        end logit). Same code as the `serving_default` signature; see
        `tfzoo.export.question_answerer_signatures`.

        Example (untrained, so the span is arbitrary but always a part of
        the context):

        >>> from tfzoo.preprocessing import BertQuestionAnswererPreprocessor
        >>> from tfzoo.tokenizers import WordPieceTokenizer
        >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        ...               "who", "won", "?", "ada", "the", "race", "."]
        >>> model = BertQuestionAnswerer.from_preset(
        ...     "bert_tiny", vocabulary_size=12,
        ...     preprocessor=BertQuestionAnswererPreprocessor(
        ...         WordPieceTokenizer(vocabulary), sequence_length=8))
        >>> context = "Ada won the race."
        >>> answers = model.predict_answers(["Who won?"], [context])
        >>> start, end = answers["answer_start"][0], answers["answer_end"][0]
        >>> context[start:end] == answers["answer_text"][0] != ""
        True
        """
        return answer_spans.predict_answers(
            self, questions, contexts, max_answer_length, batch_size
        )

    def default_loss(self):
        return None  # task_loss below

    def default_metrics(self):
        return None  # compute_metrics below

    def task_loss(self, y, y_pred, sample_weight):
        start, end = _span_labels(y)
        cross_entropy = keras.losses.sparse_categorical_crossentropy
        start_loss = cross_entropy(start, y_pred["start_logits"], True)
        end_loss = cross_entropy(end, y_pred["end_logits"], True)
        return weighted_mean((start_loss + end_loss) / 2.0, sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if not getattr(self, "_uses_task_loss", False):
            return super().compute_metrics(x, y, y_pred, sample_weight)
        start, end = _span_labels(y)
        self.start_accuracy.update_state(start, y_pred["start_logits"])
        self.end_accuracy.update_state(end, y_pred["end_logits"])
        predicted_start = tf.argmax(y_pred["start_logits"], -1, "int32")
        predicted_end = tf.argmax(y_pred["end_logits"], -1, "int32")
        both = tf.logical_and(
            tf.equal(predicted_start, tf.cast(tf.reshape(start, [-1]), "int32")),
            tf.equal(predicted_end, tf.cast(tf.reshape(end, [-1]), "int32")),
        )
        self.span_accuracy.update_state(tf.cast(both, "float32"))
        return self.get_metrics_result()
