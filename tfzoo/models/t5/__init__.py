"""The T5 family: encoder-decoder Transformers (T5, T5 v1.1, Flan-T5)."""

from tfzoo.models import registry
from tfzoo.models.t5 import hf_mt5, hf_t5, keras_hub_t5
from tfzoo.models.t5.t5_backbone import T5Backbone
from tfzoo.models.t5.t5_seq2seq_lm import T5Seq2SeqLM

__all__ = ["T5Backbone", "T5Seq2SeqLM"]

registry.register_checkpoint_format(hf_t5)
registry.register_checkpoint_format(hf_mt5)
registry.register_keras_hub_format(keras_hub_t5)
