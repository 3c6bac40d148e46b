"""BERT for token classification (e.g. named entities)."""

import keras

from tfzoo.layers.dropout import Dropout
from tfzoo.metrics.masked_accuracy import MaskedAccuracy
from tfzoo.models.bert import word_labels
from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_heads import logits_layer
from tfzoo.models.task import Task
from tfzoo.preprocessing.bert_token_classifier_preprocessor import (
    BertTokenClassifierPreprocessor,
)

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
    preprocessor_class = BertTokenClassifierPreprocessor
    serving_kind = "token_classifier"

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

    def predict_words(self, texts, batch_size=32):
        """Labels the words of raw texts, as the exported model serves them.

        Needs a `BertTokenClassifierPreprocessor`. Returns a dict of numpy
        arrays (strings as `str`), padded to the most words: `words`,
        `word_starts`, `word_ends` (character offsets: `text[start:end] ==
        word`), `word_labels`, `word_label_ids`, `word_scores`,
        `num_words`, `num_labeled_words` (fewer when the text was cut at
        `sequence_length`), and entities merged from BIO labels. Same code
        as the `serving_default` signature; see
        `tfzoo.export.token_classifier_signatures`.

        Example (untrained, so only the words are meaningful):

        >>> from tfzoo.preprocessing import BertTokenClassifierPreprocessor
        >>> from tfzoo.tokenizers import WordPieceTokenizer
        >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        ...               "ada", "met", "oslo", "."]
        >>> preprocessor = BertTokenClassifierPreprocessor(
        ...     WordPieceTokenizer(vocabulary), sequence_length=4,
        ...     label_names=["O", "B-PER", "B-LOC"])
        >>> model = BertTokenClassifier.from_preset(
        ...     "bert_tiny", vocabulary_size=9, num_classes=3,
        ...     preprocessor=preprocessor)
        >>> result = model.predict_words(["Ada met Oslo."])
        >>> result["words"].tolist(), result["word_starts"].tolist()
        ([['Ada', 'met', 'Oslo', '.']], [[0, 4, 8, 12]])
        >>> # [CLS] ada met [SEP]: the last two words have no label.
        >>> result["num_labeled_words"], result["word_labels"][0, 2:]
        (array([2], dtype=int32), array(['', ''], dtype=object))
        """
        return word_labels.predict_words(self, texts, batch_size)

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
