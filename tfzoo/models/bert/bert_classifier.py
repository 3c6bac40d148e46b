"""BERT for sentence and sentence-pair classification or regression."""

import keras

from tfzoo.layers.dropout import Dropout
from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_heads import logits_layer
from tfzoo.models.task import Task
from tfzoo.preprocessing.bert_classifier_preprocessor import (
    BertClassifierPreprocessor,
)


@keras.saving.register_keras_serializable(package="tfzoo")
class BertClassifier(Task):
    """Classifies a sentence or sentence pair from BERT's pooled output.

    Sentence pairs are packed into one input, told apart by `segment_ids`.
    Outputs float32 logits `[batch, num_classes]`. With `num_classes=1` the
    model is a regressor: the output is the predicted value and the default
    loss is mean squared error.

    Example:

    >>> import numpy as np
    >>> model = BertClassifier.from_preset(
    ...     "bert_tiny", vocabulary_size=100, num_classes=3
    ... )
    >>> inputs = {
    ...     "token_ids": np.ones((2, 8), "int32"),
    ...     "segment_ids": np.zeros((2, 8), "int32"),
    ...     "padding_mask": np.ones((2, 8), "int32"),
    ... }
    >>> model.predict(inputs, verbose=0).shape
    (2, 3)
    """

    backbone_class = BertBackbone
    preprocessor_class = BertClassifierPreprocessor
    serving_kind = "classifier"

    def __init__(self, backbone, num_classes=2, dropout=0.1, **kwargs):
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f"num_classes must be an integer >= 1 (1 for regression), "
                f"got {num_classes!r}."
            )
        # === Layers ===
        self.backbone = backbone
        self.output_dropout = Dropout(
            dropout, dtype=backbone.dtype_policy, name="output_dropout"
        )
        self.output_dense = logits_layer(num_classes)
        # === Functional model ===
        inputs = backbone.input
        pooled = backbone(inputs)["pooled_output"]
        outputs = self.output_dense(self.output_dropout(pooled))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self.num_classes = num_classes
        self.dropout = dropout

    @property
    def is_regression(self):
        return self.num_classes == 1

    def default_loss(self):
        if self.is_regression:
            return keras.losses.MeanSquaredError()
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def default_metrics(self):
        if self.is_regression:
            return [keras.metrics.MeanAbsoluteError(name="mae")]
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_classes": self.num_classes, "dropout": self.dropout}
        )
        return config
