"""The T5 encoder-decoder Transformer.

Example:

>>> import numpy as np
>>> backbone = T5Backbone.from_preset("t5_tiny", vocabulary_size=100)
>>> inputs = {"encoder_token_ids": np.ones((2, 7), "int32"),
...           "encoder_padding_mask": np.ones((2, 7), "int32"),
...           "decoder_token_ids": np.ones((2, 3), "int32"),
...           "decoder_padding_mask": np.ones((2, 3), "int32")}
>>> outputs = backbone(inputs)
>>> outputs["encoder_sequence_output"].shape
TensorShape([2, 7, 128])
>>> backbone.logits(outputs["decoder_sequence_output"]).shape
TensorShape([2, 3, 100])
"""

import keras
import tensorflow as tf

from tfzoo.layers.dropout import Dropout
from tfzoo.layers.relative_position_bias import RelativePositionBias
from tfzoo.layers.rms_normalization import RMSNormalization
from tfzoo.layers.transformer_block import FEED_FORWARDS, TransformerBlock
from tfzoo.models import input_checks
from tfzoo.models.backbone import Backbone
from tfzoo.presets import T5_PRESETS


@keras.saving.register_keras_serializable(package="tfzoo")
class T5Backbone(Backbone):
    """T5: a shared token embedding, an encoder stack and a decoder stack.

    As Hugging Face's `T5ForConditionalGeneration` computes it, so that its
    checkpoints load exactly: pre-norm `TransformerBlock`s with RMSNorm
    (float32), no biases, unscaled scores (`score_scale=1`); a relative
    position bias per stack (bidirectional in the encoder, causal in the
    decoder), computed once and added in every layer's self-attention
    (none in cross-attention); a final RMSNorm per stack. The feed-forward
    is T5's ReLU MLP (`feed_forward="mlp"`, `activation="relu"`), or T5
    v1.1 / Flan-T5 / mT5's gated GELU (`feed_forward="gated"`,
    `activation="gelu_approximate"`).

    Inputs (keras-hub's names): int32 `[batch, length]`
    `encoder_token_ids`, `encoder_padding_mask`, `decoder_token_ids`,
    `decoder_padding_mask` (1 at real tokens). Outputs: a dict with
    `encoder_sequence_output` and `decoder_sequence_output`, each
    `[batch, length, hidden_dim]`. `logits(decoder_sequence_output)` gives
    the language-model logits: the tied embedding after scaling by
    `hidden_dim ** -0.5` (`tie_embedding_weights=True`, T5), or the untied
    `lm_head` (v1.1, Flan-T5).

    Decoding: `encode` runs the encoder once, `project_encoder_output`
    computes each decoder layer's cross-attention keys and values once (a
    read-only context), and `call_with_cache` runs decoder tokens over the
    self-attention cache from `empty_cache`.

    Weights, by attribute (Hugging Face names in brackets; HF linear
    weights are `[out, in]`, ours `[in, out]`):
    `token_embedding.embeddings` [`shared.weight`];
    `encoder_relative_position_bias.relative_attention_bias`
    [`encoder.block.0.layer.0.SelfAttention.relative_attention_bias`];
    per encoder block `encoder_layers[i]`: `attention.qkv_kernel` (q, k, v
    columns side by side), `attention.output_kernel` (o),
    `attention_norm.scale` (`layer.0.layer_norm`), `feed_forward`
    (`intermediate.kernel`, `output_dense.kernel` = wi, wo; gated:
    `gate_up_kernel[:, 0]` = wi_0, `[:, 1]` = wi_1, `output_kernel` = wo),
    `feed_forward_norm.scale` (`layer.1.layer_norm`); decoder blocks
    `decoder_layers[i]` the same plus `cross_attention.*` (EncDecAttention,
    `layer.1`) and `cross_attention_norm.scale`, the feed-forward being
    `layer.2`; `decoder_relative_position_bias`; `encoder_final_norm.scale`
    and `decoder_final_norm.scale` [`{encoder,decoder}.final_layer_norm`];
    `lm_head.kernel` [`lm_head.weight`] when untied.

    Args:
        vocabulary_size, num_layers, num_heads, hidden_dim,
        intermediate_dim: T5's `vocab_size`, `num_layers`, `num_heads`,
            `d_model`, `d_ff`.
        num_decoder_layers: decoder depth (default `num_layers`).
        head_dim: T5's `d_kv` (default `hidden_dim // num_heads`).
        feed_forward, activation: see above.
        relative_attention_num_buckets, relative_attention_max_distance:
            the position bias's buckets.
        tie_embedding_weights: project onto the (scaled) token embedding,
            or onto an own `lm_head`.
        max_sequence_length: the longest source or target that `generate`
            and the input checks allow (T5 has no position table).
        dropout: on embeddings, sublayer outputs, attention weights,
            feed-forward activations and stack outputs, as T5 places it.
        layer_norm_epsilon: RMSNorm's epsilon.
    """

    presets = T5_PRESETS
    input_keys = ("encoder_token_ids", "encoder_padding_mask",
                  "decoder_token_ids", "decoder_padding_mask")

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        num_decoder_layers=None,
        head_dim=None,
        feed_forward="mlp",
        activation="relu",
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        tie_embedding_weights=True,
        max_sequence_length=512,
        dropout=0.0,
        layer_norm_epsilon=1e-6,
        dtype=None,
        **kwargs,
    ):
        if feed_forward not in FEED_FORWARDS:
            raise ValueError(
                f"feed_forward must be one of {FEED_FORWARDS}, got "
                f"{feed_forward!r}."
            )
        num_decoder_layers = num_decoder_layers or num_layers
        if num_layers < 1 or num_decoder_layers < 1:
            raise ValueError(
                f"num_layers and num_decoder_layers must be >= 1, got "
                f"{num_layers} and {num_decoder_layers}."
            )
        head_dim = head_dim or hidden_dim // num_heads
        if head_dim < 1:
            raise ValueError(
                f"head_dim must be positive; with hidden_dim={hidden_dim} "
                f"and num_heads={num_heads} pass head_dim."
            )
        # Hugging Face's T5 initialisation scales.
        embedding_initializer = keras.initializers.RandomNormal(stddev=1.0)
        kernel_initializer = keras.initializers.RandomNormal(
            stddev=hidden_dim ** -0.5
        )

        # === Layers ===
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim,
            embeddings_initializer=embedding_initializer, dtype=dtype,
            name="token_embedding",
        )

        def stack(prefix, depth, decoder):
            bias = RelativePositionBias(
                num_heads, num_buckets=relative_attention_num_buckets,
                max_distance=relative_attention_max_distance,
                bidirectional=not decoder, dtype=dtype,
                name=f"{prefix}_relative_position_bias",
            )
            blocks = [
                TransformerBlock(
                    num_heads, intermediate_dim, head_dim=head_dim,
                    causal=decoder, cross_attention=decoder,
                    normalize_first=True, normalization="rms_norm",
                    feed_forward=feed_forward, activation=activation,
                    score_scale=1.0, use_bias=False, dropout=dropout,
                    feed_forward_dropout=dropout,
                    layer_norm_epsilon=layer_norm_epsilon,
                    kernel_initializer=kernel_initializer, dtype=dtype,
                    name=f"{prefix}_layer_{index}",
                )
                for index in range(depth)
            ]
            norm = RMSNormalization(layer_norm_epsilon, dtype=dtype,
                                    name=f"{prefix}_final_norm")
            return bias, blocks, norm

        (self.encoder_relative_position_bias, self.encoder_layers,
         self.encoder_final_norm) = stack("encoder", num_layers, False)
        (self.decoder_relative_position_bias, self.decoder_layers,
         self.decoder_final_norm) = stack("decoder", num_decoder_layers, True)
        self.encoder_embeddings_dropout = Dropout(
            dropout, dtype=dtype, name="encoder_embeddings_dropout")
        self.encoder_output_dropout = Dropout(
            dropout, dtype=dtype, name="encoder_output_dropout")
        self.decoder_embeddings_dropout = Dropout(
            dropout, dtype=dtype, name="decoder_embeddings_dropout")
        self.decoder_output_dropout = Dropout(
            dropout, dtype=dtype, name="decoder_output_dropout")
        self.lm_head = None
        if not tie_embedding_weights:
            # Outside the functional graph (which ends at hidden states);
            # tracked as an attribute, so saved with the backbone.
            self.lm_head = keras.layers.Dense(
                vocabulary_size, use_bias=False,
                kernel_initializer=kernel_initializer, dtype=dtype,
                name="lm_head",
            )
            self.lm_head.build((None, hidden_dim))

        # === Functional model ===
        inputs = {
            key: keras.Input(shape=(None,), dtype="int32", name=key)
            for key in self.input_keys
        }
        encoder_output = self.encode(inputs["encoder_token_ids"],
                                     inputs["encoder_padding_mask"])
        decoder_output = self.decode(
            inputs["decoder_token_ids"], inputs["decoder_padding_mask"],
            encoder_output, inputs["encoder_padding_mask"],
        )
        outputs = {"encoder_sequence_output": encoder_output,
                   "decoder_sequence_output": decoder_output}
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_decoder_layers = num_decoder_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.head_dim = head_dim
        self.feed_forward = feed_forward
        self.activation = activation
        self.relative_attention_num_buckets = relative_attention_num_buckets
        self.relative_attention_max_distance = relative_attention_max_distance
        self.tie_embedding_weights = tie_embedding_weights
        self.max_sequence_length = max_sequence_length
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon

    # ------------------------------------------------------------ stacks --

    def encode(self, encoder_token_ids, encoder_padding_mask, training=None):
        """The encoder's output `[batch, length, hidden_dim]`."""
        x = self.encoder_embeddings_dropout(
            self.token_embedding(encoder_token_ids), training=training)
        bias = self.encoder_relative_position_bias(x)
        for block in self.encoder_layers:
            x = block(x, padding_mask=encoder_padding_mask, score_bias=bias,
                      training=training)
        return self.encoder_output_dropout(self.encoder_final_norm(x),
                                           training=training)

    def decode(self, decoder_token_ids, decoder_padding_mask, encoder_output,
               encoder_padding_mask, training=None):
        """The decoder's output over a whole target (teacher forcing)."""
        x = self.decoder_embeddings_dropout(
            self.token_embedding(decoder_token_ids), training=training)
        bias = self.decoder_relative_position_bias(x)
        for block in self.decoder_layers:
            x = block(x, padding_mask=decoder_padding_mask, score_bias=bias,
                      context=encoder_output,
                      context_padding_mask=encoder_padding_mask,
                      training=training)
        return self.decoder_output_dropout(self.decoder_final_norm(x),
                                           training=training)

    # ------------------------------------------------------------ logits --

    def output_embeddings(self):
        """`(kernel [vocabulary, hidden], scale)`: logits are
        `scale * hidden @ kernel.T`."""
        if self.lm_head is None:
            return self.token_embedding.embeddings, self.hidden_dim ** -0.5
        return tf.transpose(self.lm_head.kernel), 1.0

    def logits(self, decoder_sequence_output):
        """Float32 language-model logits `[..., vocabulary_size]`."""
        kernel, scale = self.output_embeddings()
        hidden = decoder_sequence_output
        if scale != 1.0:
            hidden = hidden * tf.cast(scale, hidden.dtype)
        logits = tf.matmul(
            tf.reshape(hidden, [-1, hidden.shape[-1]]),
            tf.cast(kernel, hidden.dtype), transpose_b=True,
        )
        shape = tf.concat([tf.shape(hidden)[:-1], [-1]], axis=0)
        return tf.cast(tf.reshape(logits, shape), "float32")

    # ---------------------------------------------------------- decoding --

    def project_encoder_output(self, encoder_output, encoder_padding_mask):
        """The decoder's read-only context, computed once per source.

        A dict: `key_values`, one `(keys, values)` a decoder layer, each
        `[batch, num_heads, source_length, head_dim]`, and the source's
        `padding_mask`. Every leaf has the batch first, so repeating it per
        beam, or gathering rows, keeps it consistent.
        """
        return {
            "key_values": [
                block.cross_attention.project_context(encoder_output)
                for block in self.decoder_layers
            ],
            "padding_mask": tf.cast(encoder_padding_mask, "int32"),
        }

    def decoding_constants(self):
        """What every decode step reads that depends on neither source nor
        step, prepared once before the loop: each decoder layer's
        cross-attention query kernel, cut from its fused kernel (inside
        an XLA loop the cut would be a copy at every step). A dict for
        `call_with_cache(constants=...)`; `ContextDecoder` passes it."""
        return {"query_kernels": [block.cross_attention.query_kernel()
                                  for block in self.decoder_layers]}

    def empty_cache(self, batch_size, max_length):
        """Zero self-attention keys and values: one `(keys, values)` a
        decoder layer, each `[batch_size, num_heads, max_length,
        head_dim]`."""
        shape = [batch_size, self.num_heads, max_length, self.head_dim]
        zeros = tf.zeros(shape, self.compute_dtype)
        return [(zeros, zeros) for _ in self.decoder_layers]

    def call_with_cache(self, decoder_token_ids, cache, cache_index,
                        context, constants=None):
        """Runs decoder tokens (at positions from `cache_index`) over the
        cache, cross-attending to `context` (`project_encoder_output`).
        `constants`: optional, from `decoding_constants()`.

        Returns `(decoder_sequence_output, cache)`.
        """
        x = self.token_embedding(decoder_token_ids)
        max_length = cache[0][0].shape[2]
        if max_length is None:
            max_length = tf.shape(cache[0][0])[2]
        bias = self.decoder_relative_position_bias.bias(
            tf.shape(decoder_token_ids)[1], max_length, cache_index)
        query_kernels = ([None] * len(self.decoder_layers)
                         if constants is None else constants["query_kernels"])
        new_cache = []
        for block, block_cache, context_cache, query_kernel in zip(
                self.decoder_layers, cache, context["key_values"],
                query_kernels):
            x, block_cache = block(
                x, score_bias=bias, cache=block_cache,
                cache_index=cache_index, context_cache=context_cache,
                context_padding_mask=context["padding_mask"],
                context_query_kernel=query_kernel,
            )
            new_cache.append(block_cache)
        return self.decoder_final_norm(x), new_cache

    # ------------------------------------------------------------ checks --

    def check_inputs(self, inputs):
        name = type(self).__name__
        input_checks.check_input_keys(name, inputs, self.input_keys)
        for key in ("encoder_token_ids", "decoder_token_ids"):
            input_checks.check_sequence_length(
                f"{name} ({key})", inputs[key], self.max_sequence_length)
            input_checks.check_token_ids(f"{name} ({key})", inputs[key],
                                         self.vocabulary_size)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "num_layers": self.num_layers,
                "num_decoder_layers": self.num_decoder_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "head_dim": self.head_dim,
                "feed_forward": self.feed_forward,
                "activation": self.activation,
                "relative_attention_num_buckets":
                    self.relative_attention_num_buckets,
                "relative_attention_max_distance":
                    self.relative_attention_max_distance,
                "tie_embedding_weights": self.tie_embedding_weights,
                "max_sequence_length": self.max_sequence_length,
                "dropout": self.dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
