"""The T5 family: encoder-decoder Transformers (T5, T5 v1.1, Flan-T5)."""

from tfzoo.models.t5.t5_backbone import T5Backbone
from tfzoo.models.t5.t5_seq2seq_lm import T5Seq2SeqLM

__all__ = ["T5Backbone", "T5Seq2SeqLM"]
