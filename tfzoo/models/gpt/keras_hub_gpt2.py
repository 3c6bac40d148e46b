"""keras-hub's GPT-2 (`GPT2Backbone`, `GPT2CausalLM`) in tfzoo.

keras-hub's GPT-2 is tfzoo's `GPTBackbone` with its defaults (learned
positions, pre-LayerNorm, tanh GELU, epsilon 1e-5). Its variables are
renamed to the Hugging Face GPT-2 tensors of `hf_gpt2` (`Conv1D` kernels
are `[in, out]`, the query, key and value side by side in `c_attn`),
which loads them (`tfzoo.from_keras_hub`). The causal LM's output layer
is the token embedding, as in tfzoo.
"""

import numpy as np

from tfzoo.models.gpt import hf_gpt2
from tfzoo.models.gpt.gpt_backbone import GPTBackbone
from tfzoo.models.gpt.gpt_causal_lm import GPTCausalLM
from tfzoo.models.hf_format.keras_hub_layout import (
    output_projection,
    pair,
    projection,
    weight_and_bias,
)

KERAS_HUB_CLASSES = {"GPT2Backbone": GPTBackbone, "GPT2CausalLM": GPTCausalLM}
CHECKPOINT_FORMAT = hf_gpt2


def backbone_kwargs(config):
    """`GPTBackbone` arguments for a keras-hub `GPT2Backbone` config."""
    return {
        "vocabulary_size": config["vocabulary_size"],
        "num_layers": config["num_layers"],
        "num_heads": config["num_heads"],
        "hidden_dim": config["hidden_dim"],
        "intermediate_dim": config["intermediate_dim"],
        "dropout": config.get("dropout", 0.1),
        "max_sequence_length": config.get("max_sequence_length", 1024),
        "layer_norm_epsilon": 1e-5,
        "activation": "gelu_approximate",
    }


def task_kwargs(config):
    """`GPTCausalLM` arguments for a keras-hub `GPT2CausalLM`: none (its
    sampler is chosen per `generate` call in tfzoo)."""
    return {}


def hf_tensors(arrays):
    """keras-hub variable path -> array, as Hugging Face GPT-2 tensors."""
    tensors = {
        "wte.weight": arrays["token_embedding/embeddings"],
        "wpe.weight": arrays["position_embedding/embeddings"],
        **weight_and_bias("ln_f", *pair(arrays, "layer_norm",
                                        "gamma", "beta")),
    }
    index = 0
    while f"transformer_layer_{index}/feedforward_layer_norm/gamma" in arrays:
        source = f"transformer_layer_{index}"
        attention = f"{source}/self_attention"
        layer = f"h.{index}"
        kernels, biases = zip(*(
            projection(arrays, f"{attention}/{part}")
            for part in ("query", "key", "value")
        ))
        tensors.update(weight_and_bias(
            f"{layer}.attn.c_attn", np.concatenate(kernels, axis=1),
            np.concatenate(biases)))
        tensors.update(weight_and_bias(
            f"{layer}.attn.c_proj",
            *output_projection(arrays, f"{attention}/attention_output")))
        tensors.update(weight_and_bias(
            f"{layer}.ln_1", *pair(arrays, f"{source}/self_attention_layer_norm",
                                   "gamma", "beta")))
        tensors.update(weight_and_bias(
            f"{layer}.ln_2", *pair(arrays, f"{source}/feedforward_layer_norm",
                                   "gamma", "beta")))
        tensors.update(weight_and_bias(
            f"{layer}.mlp.c_fc",
            *pair(arrays, f"{source}/feedforward_intermediate_dense")))
        tensors.update(weight_and_bias(
            f"{layer}.mlp.c_proj",
            *pair(arrays, f"{source}/feedforward_output_dense")))
        index += 1
    return tensors
