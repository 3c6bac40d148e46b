"""BERT with a masked-language-model head."""

import keras

from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_heads import masked_lm_head, masked_lm_inputs
from tfzoo.models.task import Task


@keras.saving.register_keras_serializable(package="tfzoo")
class BertMaskedLM(Task):
    """Predicts the original tokens at masked positions.

    Inputs are the backbone's plus `mask_positions` `[batch, num_masked]`.
    Outputs float32 logits `[batch, num_masked, vocabulary_size]`; the
    output projection is the transposed token embedding. Train with
    `fit(x, mask_ids, sample_weight=mask_weights)`, where a weight of 0
    marks padding in `mask_positions`.

    Example:

    >>> import numpy as np
    >>> model = BertMaskedLM.from_preset("bert_tiny", vocabulary_size=100)
    >>> inputs = {
    ...     "token_ids": np.ones((2, 8), "int32"),
    ...     "segment_ids": np.zeros((2, 8), "int32"),
    ...     "padding_mask": np.ones((2, 8), "int32"),
    ...     "mask_positions": np.array([[1, 2], [3, 0]], "int32"),
    ... }
    >>> model.predict(inputs, verbose=0).shape
    (2, 2, 100)
    """

    backbone_class = BertBackbone
    extra_input_keys = ("mask_positions",)
    default_learning_rate = 1e-4

    def __init__(self, backbone, **kwargs):
        # === Layers ===
        self.backbone = backbone
        self.masked_lm_head = masked_lm_head(backbone)
        # === Functional model ===
        inputs = masked_lm_inputs(backbone)
        sequence = backbone(
            {key: inputs[key] for key in backbone.input_keys}
        )["sequence_output"]
        logits = self.masked_lm_head(
            sequence, mask_positions=inputs["mask_positions"]
        )
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

    def default_loss(self):
        return keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        )

    def default_metrics(self):
        return None

    def default_weighted_metrics(self):
        """Accuracy over real masked positions (weighted by `mask_weights`)."""
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
