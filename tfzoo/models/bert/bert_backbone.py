"""The BERT encoder."""

import keras

from tfzoo.layers.dropout import Dropout
from tfzoo.layers.token_and_position_embedding import (
    TokenAndPositionEmbedding,
)
from tfzoo.layers.transformer_block import (
    TransformerEncoderBlock,
    check_heads_divide_hidden,
)
from tfzoo.models.backbone import Backbone
from tfzoo.presets import BERT_PRESETS


def bert_initializer():
    return keras.initializers.TruncatedNormal(stddev=0.02)


@keras.saving.register_keras_serializable(package="tfzoo")
class BertBackbone(Backbone):
    """A BERT encoder: embeddings, post-LayerNorm blocks and a pooler.

    Inputs are a dict of int32 `[batch, length]` tensors: `token_ids`,
    `segment_ids` and `padding_mask` (1 at real tokens). Outputs are a dict:
    `sequence_output` `[batch, length, hidden_dim]` and `pooled_output`
    `[batch, hidden_dim]` (tanh dense layer on the first token).

    The pooled output comes from a first-token-only pass through the last
    block, which shares its weights with the full pass. A model that uses
    only `pooled_output` (a classifier) never computes the last block at
    the other positions.

    Two options cover BERT's relatives (see `tfzoo.convert`): RoBERTa
    numbers positions from `position_offset` (2) and DistilBERT has no
    segment embeddings (`num_segments=0`) and a ReLU `pooler_activation`
    (its classifier's pre-classifier layer). `activation` is the
    feed-forward's: exact "gelu" as in Hugging Face BERT, or
    "gelu_approximate" (tanh) as in keras-hub's BERT.

    Example:

    >>> import numpy as np
    >>> backbone = BertBackbone.from_preset("bert_tiny", vocabulary_size=100)
    >>> inputs = {
    ...     "token_ids": np.ones((2, 8), "int32"),
    ...     "segment_ids": np.zeros((2, 8), "int32"),
    ...     "padding_mask": np.ones((2, 8), "int32"),
    ... }
    >>> outputs = backbone(inputs)
    >>> outputs["sequence_output"].shape, outputs["pooled_output"].shape
    (TensorShape([2, 8, 128]), TensorShape([2, 128]))
    """

    presets = BERT_PRESETS
    input_keys = ("token_ids", "segment_ids", "padding_mask")

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        max_sequence_length=512,
        num_segments=2,
        layer_norm_epsilon=1e-12,
        position_offset=0,
        pooler_activation="tanh",
        activation="gelu",
        dtype=None,
        **kwargs,
    ):
        check_heads_divide_hidden(hidden_dim, num_heads)
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}.")

        # === Layers ===
        self.embeddings = TokenAndPositionEmbedding(
            vocabulary_size,
            max_sequence_length + position_offset,
            hidden_dim,
            num_segments=num_segments,
            initializer=bert_initializer(),
            dtype=dtype,
            name="embeddings",
        )
        self.embeddings_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="embeddings_norm"
        )
        self.embeddings_dropout = Dropout(
            dropout, dtype=dtype, name="embeddings_dropout"
        )
        self.transformer_layers = [
            TransformerEncoderBlock(
                num_heads,
                intermediate_dim,
                activation=activation,
                dropout=dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                kernel_initializer=bert_initializer(),
                dtype=dtype,
                name=f"transformer_layer_{index}",
            )
            for index in range(num_layers)
        ]
        self.pooler = keras.layers.Dense(
            hidden_dim,
            activation=pooler_activation,
            kernel_initializer=bert_initializer(),
            dtype=dtype,
            name="pooler",
        )

        # === Functional model ===
        inputs = {
            key: keras.Input(shape=(None,), dtype="int32", name=key)
            for key in self.input_keys
        }
        padding_mask = inputs["padding_mask"]
        x = self.embeddings(
            inputs["token_ids"], segment_ids=inputs["segment_ids"],
            start_index=position_offset,
        )
        x = self.embeddings_dropout(self.embeddings_norm(x))
        for block in self.transformer_layers[:-1]:
            x = block(x, padding_mask=padding_mask)
        last_block = self.transformer_layers[-1]
        sequence_output = last_block(x, padding_mask=padding_mask)
        first_token = last_block(
            x, padding_mask=padding_mask, first_token_only=True
        )
        pooled_output = self.pooler(first_token[:, 0, :])
        super().__init__(
            inputs=inputs,
            outputs={
                "sequence_output": sequence_output,
                "pooled_output": pooled_output,
            },
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.layer_norm_epsilon = layer_norm_epsilon
        self.position_offset = position_offset
        self.pooler_activation = pooler_activation
        self.activation = activation

    @property
    def token_embedding(self):
        """The token `Embedding` layer, for heads that tie weights to it."""
        return self.embeddings.token_embedding

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "max_sequence_length": self.max_sequence_length,
                "num_segments": self.num_segments,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "position_offset": self.position_offset,
                "pooler_activation": self.pooler_activation,
                "activation": self.activation,
            }
        )
        return config
