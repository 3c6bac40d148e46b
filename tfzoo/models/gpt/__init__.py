"""The GPT family: decoder-only Transformers (GPT-2 checkpoints)."""

from tfzoo.models import registry
from tfzoo.models.gpt import hf_gpt2, keras_hub_gpt2
from tfzoo.models.gpt.gpt_backbone import GPTBackbone
from tfzoo.models.gpt.gpt_causal_lm import GPTCausalLM

__all__ = ["GPTBackbone", "GPTCausalLM"]

registry.register_checkpoint_format(hf_gpt2)
registry.register_keras_hub_format(keras_hub_gpt2)
