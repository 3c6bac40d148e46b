"""Transformer building blocks, one concept a file."""

from tfzoo import _backend  # noqa: F401  (Keras must run on TensorFlow)
from tfzoo.layers.causal_decoder_block import CausalDecoderBlock
from tfzoo.layers.causal_self_attention import CausalSelfAttention
from tfzoo.layers.dropout import Dropout
from tfzoo.layers.feed_forward import FeedForward
from tfzoo.layers.gated_feed_forward import GatedFeedForward
from tfzoo.layers.masked_lm_head import MaskedLMHead
from tfzoo.layers.multi_head_attention import MultiHeadAttention
from tfzoo.layers.position_embedding import PositionEmbedding
from tfzoo.layers.rms_normalization import RMSNormalization
from tfzoo.layers.rotary_embedding import RotaryEmbedding
from tfzoo.layers.sinusoidal_position_embedding import (
    SinusoidalPositionEmbedding,
)
from tfzoo.layers.span_head import SpanHead
from tfzoo.layers.tied_embedding_logits import TiedEmbeddingLogits
from tfzoo.layers.token_and_position_embedding import (
    TokenAndPositionEmbedding,
)
from tfzoo.layers.transformer_decoder_block import TransformerDecoderBlock
from tfzoo.layers.transformer_encoder_block import TransformerEncoderBlock
