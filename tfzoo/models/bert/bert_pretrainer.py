"""BERT pretraining: masked LM and next-sentence prediction together."""

import keras
import tensorflow as tf

from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_heads import (
    logits_layer,
    masked_lm_head,
    masked_lm_inputs,
)
from tfzoo.models.task import Task, weighted_mean


@keras.saving.register_keras_serializable(package="tfzoo")
class BertPretrainer(Task):
    """Trains a BERT backbone on masked LM plus next-sentence prediction.

    Inputs are the backbone's plus `mask_positions`. Outputs a dict of
    float32 `mlm_logits` `[batch, num_masked, vocabulary_size]` (tied to the
    token embedding) and `nsp_logits` `[batch, 2]` (1 = segment B follows
    segment A). Labels are a dict of `mask_ids`, `mask_weights` (0 for
    padding in `mask_positions`) and `next_sentence_labels`. The loss is the
    weighted mean masked-LM cross-entropy plus the NSP cross-entropy, as in
    the original BERT.

    Example:

    >>> import numpy as np
    >>> model = BertPretrainer.from_preset("bert_tiny", vocabulary_size=100)
    >>> inputs = {
    ...     "token_ids": np.ones((2, 8), "int32"),
    ...     "segment_ids": np.zeros((2, 8), "int32"),
    ...     "padding_mask": np.ones((2, 8), "int32"),
    ...     "mask_positions": np.array([[1, 2], [3, 0]], "int32"),
    ... }
    >>> outputs = model.predict(inputs, verbose=0)
    >>> outputs["mlm_logits"].shape, outputs["nsp_logits"].shape
    ((2, 2, 100), (2, 2))
    """

    backbone_class = BertBackbone
    extra_input_keys = ("mask_positions",)
    default_learning_rate = 1e-4

    def __init__(self, backbone, **kwargs):
        # === Layers ===
        self.backbone = backbone
        self.masked_lm_head = masked_lm_head(backbone)
        self.next_sentence_head = logits_layer(2, "next_sentence_head")
        # === Functional model ===
        inputs = masked_lm_inputs(backbone)
        outputs = backbone({key: inputs[key] for key in backbone.input_keys})
        mlm_logits = self.masked_lm_head(
            outputs["sequence_output"],
            mask_positions=inputs["mask_positions"],
        )
        nsp_logits = self.next_sentence_head(outputs["pooled_output"])
        super().__init__(
            inputs=inputs,
            outputs={"mlm_logits": mlm_logits, "nsp_logits": nsp_logits},
            **kwargs,
        )
        # === Metrics ===
        self.mlm_accuracy = keras.metrics.SparseCategoricalAccuracy(
            name="mlm_accuracy"
        )
        self.nsp_accuracy = keras.metrics.SparseCategoricalAccuracy(
            name="nsp_accuracy"
        )

    def default_loss(self):
        return None  # task_loss below

    def default_metrics(self):
        return None  # compute_metrics below

    def task_loss(self, y, y_pred, sample_weight):
        cross_entropy = keras.losses.sparse_categorical_crossentropy
        weights = tf.cast(y["mask_weights"], "float32")
        if sample_weight is not None:  # one weight per row
            weights *= tf.reshape(tf.cast(sample_weight, "float32"), [-1, 1])
        mlm = cross_entropy(y["mask_ids"], y_pred["mlm_logits"], True)
        mlm_loss = tf.reduce_sum(mlm * weights) / tf.maximum(
            tf.reduce_sum(weights), 1.0
        )
        nsp = cross_entropy(
            y["next_sentence_labels"], y_pred["nsp_logits"], True
        )
        return mlm_loss + weighted_mean(nsp, sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if not getattr(self, "_uses_task_loss", False):
            return super().compute_metrics(x, y, y_pred, sample_weight)
        self.mlm_accuracy.update_state(
            y["mask_ids"], y_pred["mlm_logits"], y["mask_weights"]
        )
        self.nsp_accuracy.update_state(
            y["next_sentence_labels"], y_pred["nsp_logits"]
        )
        return self.get_metrics_result()
