"""BERT sentence embeddings: `TextEmbedder` on a `BertBackbone`."""

import keras

from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.text_embedder import TextEmbedder


@keras.saving.register_keras_serializable(package="tfzoo")
class BertTextEmbedder(TextEmbedder):
    """A `TextEmbedder` whose backbone is a `BertBackbone` (BERT, RoBERTa,
    DistilBERT, MiniLM checkpoints); keras-hub's name for it.

    Example:

    >>> embedder = BertTextEmbedder.from_preset(
    ...     "bert_tiny", vocabulary_size=50, pooling="cls")
    >>> embedder.embedding_dim, embedder.pooling
    (128, 'cls')
    """

    backbone_class = BertBackbone
