"""The GPT decoder-only Transformer."""

import keras
import tensorflow as tf

from tfzoo.layers.dropout import Dropout
from tfzoo.layers.position_embedding import PositionEmbedding
from tfzoo.layers.transformer_block import (
    CausalDecoderBlock,
    normalization_layer,
)
from tfzoo.models.backbone import Backbone
from tfzoo.presets import GPT_PRESETS

POSITION_EMBEDDINGS = ("learned", "rotary")
FEED_FORWARDS = ("mlp", "swiglu")


@keras.saving.register_keras_serializable(package="tfzoo")
class GPTBackbone(Backbone):
    """A GPT decoder: token (and position) embeddings, causal blocks.

    GPT-2 by default: learned positions, pre-LayerNorm blocks with a GELU
    MLP, and a final LayerNorm. Options give a modern decoder:
    `position_embedding="rotary"`, `normalization="rms_norm"`,
    `feed_forward="swiglu"` and `num_key_value_heads` below `num_heads`
    (grouped-query attention).

    Inputs are a dict of int32 `[batch, length]` tensors `token_ids` and
    `padding_mask` (1 at real tokens). The output is the final-normalised
    sequence `[batch, length, hidden_dim]`. `call_with_cache` runs the same
    layers over a key/value cache for decoding.

    Example:

    >>> import numpy as np
    >>> backbone = GPTBackbone.from_preset("gpt_tiny", vocabulary_size=100)
    >>> inputs = {"token_ids": np.ones((2, 8), "int32"),
    ...           "padding_mask": np.ones((2, 8), "int32")}
    >>> backbone(inputs).shape
    TensorShape([2, 8, 128])
    """

    presets = GPT_PRESETS
    input_keys = ("token_ids", "padding_mask")

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        num_key_value_heads=None,
        max_sequence_length=1024,
        position_embedding="learned",
        normalization="layer_norm",
        feed_forward="mlp",
        activation="gelu_approximate",
        rotary_base=10000.0,
        use_bias=True,
        dropout=0.0,
        layer_norm_epsilon=1e-5,
        dtype=None,
        **kwargs,
    ):
        if position_embedding not in POSITION_EMBEDDINGS:
            raise ValueError(
                f"position_embedding must be one of {POSITION_EMBEDDINGS}, "
                f"got {position_embedding!r}."
            )
        if feed_forward not in FEED_FORWARDS:
            raise ValueError(
                f"feed_forward must be one of {FEED_FORWARDS}, got "
                f"{feed_forward!r}."
            )
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
        initializer = keras.initializers.TruncatedNormal(stddev=0.02)
        # GPT-2 scales the residual projections by 1/sqrt(2 * num_layers).
        output_initializer = keras.initializers.TruncatedNormal(
            stddev=0.02 / (2 * num_layers) ** 0.5
        )

        # === Layers ===
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, embeddings_initializer=initializer,
            dtype=dtype, name="token_embedding",
        )
        self.position_embedding = None
        if position_embedding == "learned":
            self.position_embedding = PositionEmbedding(
                max_sequence_length, initializer=initializer, dtype=dtype,
                name="position_embedding",
            )
        self.embeddings_dropout = Dropout(
            dropout, dtype=dtype, name="embeddings_dropout"
        )
        self.transformer_layers = [
            CausalDecoderBlock(
                num_heads,
                intermediate_dim,
                num_key_value_heads=num_key_value_heads,
                causal=True,
                normalize_first=True,
                normalization=normalization,
                feed_forward="gated" if feed_forward == "swiglu" else "mlp",
                activation=activation,
                rotary=position_embedding == "rotary",
                rotary_base=rotary_base,
                use_bias=use_bias,
                dropout=dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                kernel_initializer=initializer,
                output_initializer=output_initializer,
                dtype=dtype,
                name=f"transformer_layer_{index}",
            )
            for index in range(num_layers)
        ]
        self.final_norm = normalization_layer(
            normalization, layer_norm_epsilon, dtype, "final_norm"
        )

        # === Functional model ===
        inputs = {
            key: keras.Input(shape=(None,), dtype="int32", name=key)
            for key in self.input_keys
        }
        x = self._embed(inputs["token_ids"], start_index=0)
        for block in self.transformer_layers:
            x = block(x, padding_mask=inputs["padding_mask"])
        outputs = self.final_norm(x)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.num_key_value_heads = num_key_value_heads or num_heads
        self.max_sequence_length = max_sequence_length
        self.position_embedding_type = position_embedding
        self.normalization = normalization
        self.feed_forward = feed_forward
        self.activation = activation
        self.rotary_base = rotary_base
        self.use_bias = use_bias
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon

    def _embed(self, token_ids, start_index, training=None):
        x = self.token_embedding(token_ids)
        if self.position_embedding is None:
            pass
        elif isinstance(start_index, int) and start_index == 0:
            x = x + self.position_embedding(x)
        else:
            # A gather, not a slice: XLA needs a static slice size.
            positions = tf.range(tf.shape(token_ids)[1]) + start_index
            table = self.position_embedding.position_embeddings
            x = x + tf.cast(tf.gather(table, positions), x.dtype)
        return self.embeddings_dropout(x, training=training)

    @property
    def head_dim(self):
        return self.hidden_dim // self.num_heads

    def empty_cache(self, batch_size, max_length):
        """Zero keys and values for decoding: one `(keys, values)` a block.

        Each is `[batch_size, num_key_value_heads, max_length, head_dim]`.
        """
        shape = [
            batch_size, self.num_key_value_heads, max_length, self.head_dim
        ]
        zeros = tf.zeros(shape, self.compute_dtype)
        return [(zeros, zeros) for _ in self.transformer_layers]

    def call_with_cache(self, token_ids, cache, cache_index):
        """Runs `token_ids` (at positions from `cache_index`) over a cache.

        Returns `(sequence_output, cache)`: the hidden states of
        `token_ids` and the cache with their keys and values written in.
        Attention is causal over the cache; no padding mask is applied.
        """
        x = self._embed(token_ids, start_index=cache_index)
        new_cache = []
        for block, block_cache in zip(self.transformer_layers, cache):
            x, block_cache = block(
                x, cache=block_cache, cache_index=cache_index
            )
            new_cache.append(block_cache)
        return self.final_norm(x), new_cache

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "num_key_value_heads": self.num_key_value_heads,
                "max_sequence_length": self.max_sequence_length,
                "position_embedding": self.position_embedding_type,
                "normalization": self.normalization,
                "feed_forward": self.feed_forward,
                "activation": self.activation,
                "rotary_base": self.rotary_base,
                "use_bias": self.use_bias,
                "dropout": self.dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
