"""Transformer building blocks, one concept a file."""

from tfzoo import _backend  # noqa: F401  (Keras must run on TensorFlow)
from tfzoo.layers.attention import Attention
from tfzoo.layers.dropout import Dropout
from tfzoo.layers.feed_forward import FeedForward
from tfzoo.layers.gated_feed_forward import GatedFeedForward
from tfzoo.layers.masked_lm_head import MaskedLMHead
from tfzoo.layers.position_embedding import PositionEmbedding
from tfzoo.layers.relative_position_bias import RelativePositionBias
from tfzoo.layers.rms_normalization import RMSNormalization
from tfzoo.layers.rotary_embedding import RotaryEmbedding
from tfzoo.layers.sequence_pooling import SequencePooling
from tfzoo.layers.sinusoidal_position_embedding import (
    SinusoidalPositionEmbedding,
)
from tfzoo.layers.span_head import SpanHead
from tfzoo.layers.tied_embedding_logits import TiedEmbeddingLogits
from tfzoo.layers.token_and_position_embedding import (
    TokenAndPositionEmbedding,
)
from tfzoo.layers.transformer_block import TransformerBlock
