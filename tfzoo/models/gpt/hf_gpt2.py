"""GPT-2's Hugging Face tensor names, and how they map to `GPTBackbone`.

GPT-2 stores its projections as `Conv1D` weights `[in, out]`, the layout
of Keras kernels, and its attention input projection `c_attn` as one
`[hidden, 3 * hidden]` matrix ordered query, key, value, the layout of
`GPTBackbone`'s fused `qkv_kernel`: every tensor copies as it is.
`GPT2Model` names them `wte`, `wpe`, `h.N.*`, `ln_f`; `GPT2LMHeadModel`
puts them under `transformer.` and ties `lm_head.weight` to `wte`.
"""

from tfzoo.models.gpt.gpt_backbone import GPTBackbone
from tfzoo.models.gpt.gpt_causal_lm import GPTCausalLM
from tfzoo.models.hf_format.config_fields import field, require
from tfzoo.models.hf_format.weight_groups import ModelWeights, WeightGroup
from tfzoo.models.hf_format.weight_specs import copy, layer_norm

MODEL_TYPE = "gpt2"
BACKBONE = GPTBackbone
ARCHITECTURES = {"GPT2Model": GPTBackbone, "GPT2LMHeadModel": GPTCausalLM}
BASE_PREFIX = "transformer."
HEAD_PREFIXES = ("lm_head.", "score.")
# Old checkpoints store the causal mask as a buffer.
IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")
TOKENIZER_CLASS = "GPT2Tokenizer"
SPECIAL_TOKENS = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                  "unk_token": "<|endoftext|>"}
SPECIAL_TOKEN_IDS = {"bos_token_id": "<|endoftext|>",
                     "eos_token_id": "<|endoftext|>"}


def backbone_kwargs(config):
    """`GPTBackbone` arguments for a GPT-2 `config.json`."""
    require(
        config, "activation_function",
        ("gelu_new", "gelu_pytorch_tanh"), "gelu_new",
    )
    require(config, "scale_attn_by_inverse_layer_idx", (False,), False)
    hidden = field(config, "n_embd")
    return {
        "vocabulary_size": field(config, "vocab_size"),
        "num_layers": field(config, "n_layer"),
        "num_heads": field(config, "n_head"),
        "hidden_dim": hidden,
        "intermediate_dim": config.get("n_inner") or 4 * hidden,
        "dropout": field(config, "resid_pdrop", 0.1),
        "max_sequence_length": field(config, "n_positions"),
        "layer_norm_epsilon": field(config, "layer_norm_epsilon", 1e-5),
        "activation": "gelu_approximate",
    }


def hf_config(backbone):
    """The `config.json` of `backbone` as a GPT-2 checkpoint."""
    return {
        "vocab_size": backbone.vocabulary_size,
        "n_embd": backbone.hidden_dim,
        "n_layer": backbone.num_layers,
        "n_head": backbone.num_heads,
        "n_inner": backbone.intermediate_dim,
        "n_positions": backbone.max_sequence_length,
        "activation_function": "gelu_new",
        "resid_pdrop": backbone.dropout,
        "embd_pdrop": backbone.dropout,
        "attn_pdrop": backbone.dropout,
        "layer_norm_epsilon": backbone.layer_norm_epsilon,
        # GPT-2's "<|endoftext|>" is its last id; save_pretrained
        # takes the tokenizer's when there is one.
        "bos_token_id": backbone.vocabulary_size - 1,
        "eos_token_id": backbone.vocabulary_size - 1,
        "tie_word_embeddings": True,
    }


def describes(backbone):
    return True  # every GPTBackbone; model_weights checks the layout


def conv1d(layer, prefix, kernel="kernel", bias="bias"):
    return [copy(getattr(layer, kernel), f"{prefix}.weight"),
            copy(getattr(layer, bias), f"{prefix}.bias")]


def encoder_specs(backbone, prefix):
    specs = [
        copy(backbone.token_embedding.embeddings, f"{prefix}wte.weight"),
        copy(backbone.position_embedding.position_embeddings,
             f"{prefix}wpe.weight"),
    ]
    for index, block in enumerate(backbone.transformer_layers):
        layer = f"{prefix}h.{index}."
        attention = block.attention
        specs += layer_norm(block.attention_norm, f"{layer}ln_1")
        specs += conv1d(attention, f"{layer}attn.c_attn",
                        "qkv_kernel", "qkv_bias")
        specs += conv1d(attention, f"{layer}attn.c_proj",
                        "output_kernel", "output_bias")
        specs += layer_norm(block.feed_forward_norm, f"{layer}ln_2")
        specs += conv1d(block.feed_forward.intermediate, f"{layer}mlp.c_fc")
        specs += conv1d(block.feed_forward.output_dense, f"{layer}mlp.c_proj")
    return specs + layer_norm(backbone.final_norm, f"{prefix}ln_f")


def check_gpt2_layout(backbone):
    """GPT-2 has learned positions, LayerNorm, a GELU MLP and full heads."""
    differences = {
        "position_embedding": (backbone.position_embedding_type, "learned"),
        "normalization": (backbone.normalization, "layer_norm"),
        "feed_forward": (backbone.feed_forward, "mlp"),
        "num_key_value_heads": (backbone.num_key_value_heads,
                                backbone.num_heads),
        "use_bias": (backbone.use_bias, True),
    }
    wrong = {k: v[0] for k, v in differences.items() if v[0] != v[1]}
    if wrong:
        raise ValueError(
            f"This GPTBackbone has no GPT-2 counterpart: {wrong} (GPT-2 "
            f"needs learned positions, layer_norm, an mlp, biases and "
            f"num_key_value_heads == num_heads)."
        )


def model_weights(model, prefix):
    """`ModelWeights` of a GPT backbone or causal LM; `prefix` is "" or
    "transformer."."""
    backbone = getattr(model, "backbone", model)
    check_gpt2_layout(backbone)
    encoder = WeightGroup(
        "decoder", encoder_specs(backbone, prefix), required=True
    )
    if isinstance(model, GPTBackbone):
        return ModelWeights("GPT2Model", [encoder])
    if isinstance(model, GPTCausalLM):
        return ModelWeights(
            "GPT2LMHeadModel", [encoder],
            tied=[("lm_head.weight", backbone.token_embedding.embeddings)],
        )
    raise TypeError(
        f"{type(model).__name__} has no Hugging Face GPT-2 counterpart."
    )
