"""mT5's Hugging Face checkpoints: T5 v1.1's layout (`hf_t5`) under
`model_type` "mt5", with a 250k SentencePiece vocabulary."""

from tfzoo.models.t5 import hf_t5
from tfzoo.models.t5.hf_t5 import (  # noqa: F401  (the format's parts)
    BACKBONE,
    BASE_PREFIX,
    HEAD_PREFIXES,
    IGNORED_SUFFIXES,
    SENTENCE_PIECE,
    SPECIAL_TOKEN_IDS,
    SPECIAL_TOKENS,
    backbone_kwargs,
)
from tfzoo.models.t5.t5_backbone import T5Backbone
from tfzoo.models.t5.t5_seq2seq_lm import T5Seq2SeqLM

MODEL_TYPE = "mt5"
ARCHITECTURES = {
    "MT5Model": T5Backbone,
    "MT5ForConditionalGeneration": T5Seq2SeqLM,
}
TOKENIZER_CLASS = "T5Tokenizer"


def hf_config(backbone):
    return hf_t5.hf_config(backbone)


def model_weights(model, prefix):
    weights = hf_t5.model_weights(model, prefix)
    weights.architecture = "M" + weights.architecture
    return weights


def describes(backbone):
    return False  # a T5Backbone saves as "t5" unless asked for "mt5"
