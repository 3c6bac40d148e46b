"""BERT for token classification (e.g. named entities)."""

import keras

from tfzoo.layers.dropout import Dropout
from tfzoo.metrics.masked_accuracy import MaskedAccuracy
from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_heads import logits_layer
from tfzoo.models.task import Task

IGNORE_LABEL = -100


@keras.saving.register_keras_serializable(package="tfzoo")
class BertTokenClassifier(Task):
    """Predicts one label per token from BERT's sequence output.

    Outputs float32 logits `[batch, length, num_classes]`. Labels are int
    `[batch, length]`; positions labelled -100 (padding, special tokens,
    sub-tokens after a word's first) count in neither the loss nor the
    accuracy.

    Example:

    >>> import numpy as np
    >>> model = BertTokenClassifier.from_preset(
    ...     "bert_tiny", vocabulary_size=100, num_classes=5
    ... )
    >>> inputs = {
    ...     "token_ids": np.ones((2, 8), "int32"),
    ...     "segment_ids": np.zeros((2, 8), "int32"),
    ...     "padding_mask": np.ones((2, 8), "int32"),
    ... }
    >>> model.predict(inputs, verbose=0).shape
    (2, 8, 5)
    """

    backbone_class = BertBackbone

    def __init__(self, backbone, num_classes, dropout=0.1, **kwargs):
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(
                f"num_classes must be an integer >= 2, got {num_classes!r}."
            )
        # === Layers ===
        self.backbone = backbone
        self.output_dropout = Dropout(
            dropout, dtype=backbone.dtype_policy, name="output_dropout"
        )
        self.output_dense = logits_layer(num_classes)
        # === Functional model ===
        inputs = backbone.input
        sequence = backbone(inputs)["sequence_output"]
        outputs = self.output_dense(self.output_dropout(sequence))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self.num_classes = num_classes
        self.dropout = dropout

    def default_loss(self):
        return keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=IGNORE_LABEL
        )

    def default_metrics(self):
        return [MaskedAccuracy(ignore_label=IGNORE_LABEL, name="accuracy")]

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_classes": self.num_classes, "dropout": self.dropout}
        )
        return config
