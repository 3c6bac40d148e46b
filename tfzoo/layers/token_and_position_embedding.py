"""Token embeddings plus position and optional segment embeddings."""

import keras

from tfzoo.layers.position_embedding import PositionEmbedding
from tfzoo.layers.sinusoidal_position_embedding import (
    SinusoidalPositionEmbedding,
)

POSITION_EMBEDDING_TYPES = ("learned", "sinusoidal", "none")


@keras.saving.register_keras_serializable(package="tfzoo")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Sums token, position and (optionally) segment embeddings.

    Args:
        vocabulary_size: number of token ids.
        sequence_length: the longest sequence the position embedding covers.
        embedding_dim: output feature size.
        num_segments: segment (token type) embeddings to add; 0 for none.
        position_embedding: "learned", "sinusoidal" or "none".

    The token embedding is `self.token_embedding`, a `keras.layers.Embedding`,
    so output layers can tie their weights to it.

    Example:

    >>> import numpy as np
    >>> layer = TokenAndPositionEmbedding(100, 16, 8, num_segments=2)
    >>> ids = np.zeros((2, 10), "int32")
    >>> layer(ids, segment_ids=ids).shape
    TensorShape([2, 10, 8])
    """

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        embedding_dim,
        num_segments=0,
        position_embedding="learned",
        initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if position_embedding not in POSITION_EMBEDDING_TYPES:
            raise ValueError(
                f"position_embedding must be one of "
                f"{POSITION_EMBEDDING_TYPES}, got {position_embedding!r}."
            )
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.num_segments = num_segments
        self.position_embedding_type = position_embedding
        self.initializer = keras.initializers.get(initializer)

        self.token_embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=self.initializer,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.position_embedding = None
        if position_embedding == "learned":
            self.position_embedding = PositionEmbedding(
                sequence_length,
                initializer=self.initializer,
                dtype=self.dtype_policy,
                name="position_embedding",
            )
        elif position_embedding == "sinusoidal":
            self.position_embedding = SinusoidalPositionEmbedding(
                dtype=self.dtype_policy, name="position_embedding"
            )
        self.segment_embedding = None
        if num_segments:
            self.segment_embedding = keras.layers.Embedding(
                num_segments,
                embedding_dim,
                embeddings_initializer=self.initializer,
                dtype=self.dtype_policy,
                name="segment_embedding",
            )

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        embedded_shape = tuple(input_shape) + (self.embedding_dim,)
        if self.position_embedding is not None:
            self.position_embedding.build(embedded_shape)
        if self.segment_embedding is not None:
            self.segment_embedding.build(input_shape)
        self.built = True

    def call(self, token_ids, segment_ids=None, start_index=0):
        embedded = self.token_embedding(token_ids)
        if self.position_embedding is not None:
            embedded = embedded + self.position_embedding(
                embedded, start_index=start_index
            )
        if self.segment_embedding is not None:
            if segment_ids is None:
                raise ValueError(
                    "This embedding has segment embeddings "
                    f"(num_segments={self.num_segments}); pass segment_ids."
                )
            embedded = embedded + self.segment_embedding(segment_ids)
        return embedded

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "embedding_dim": self.embedding_dim,
                "num_segments": self.num_segments,
                "position_embedding": self.position_embedding_type,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
