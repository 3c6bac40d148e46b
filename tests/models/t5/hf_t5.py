"""Tiny random Hugging Face T5 models, and their weights copied into a
`T5Backbone`.

A test-local name map, kept in this one helper until the registry's
converter (`tfzoo.models.t5`) replaces it.
"""

import numpy as np
import torch
import transformers

from tfzoo.models.t5 import T5Backbone

VOCABULARY = 64


def hf_config(v1_1=False, **overrides):
    """A tiny `T5Config`: T5 (ReLU, tied head) or v1.1 (gated GELU,
    untied head); heads of 8 on a hidden of 32, 2 + 3 layers."""
    config = dict(
        vocab_size=VOCABULARY, d_model=32, d_kv=8, d_ff=48, num_heads=3,
        num_layers=2, num_decoder_layers=3,
        relative_attention_num_buckets=8, relative_attention_max_distance=20,
        dropout_rate=0.0, layer_norm_epsilon=1e-6,
        feed_forward_proj="gated-gelu" if v1_1 else "relu",
        tie_word_embeddings=not v1_1, decoder_start_token_id=0,
        pad_token_id=0, eos_token_id=1,
    )
    config.update(overrides)
    return transformers.T5Config(**config)


def hf_model(v1_1=False, seed=0, **overrides):
    """A random `T5ForConditionalGeneration` in eval mode. For v1.1 its
    `lm_head` gets its own weights (transformers 5 ties it to `shared`
    whatever the config says, but only v1.1's forward skips the
    `d_model ** -0.5` scale)."""
    torch.manual_seed(seed)
    model = transformers.T5ForConditionalGeneration(
        hf_config(v1_1, **overrides))
    with torch.no_grad():
        # Larger than the default init, so that every layer matters.
        for name, parameter in model.named_parameters():
            if "layer_norm" in name:
                parameter.uniform_(0.5, 1.5)
            elif "relative_attention_bias" in name:
                parameter.normal_(0.0, 1.0)
        if v1_1:
            model.lm_head.weight = torch.nn.Parameter(
                torch.randn_like(model.shared.weight) * 0.2)
    return model.eval()


def backbone_config(hf):
    """`T5Backbone` arguments for a `T5Config`."""
    config = hf.config
    return dict(
        vocabulary_size=config.vocab_size, num_layers=config.num_layers,
        num_decoder_layers=config.num_decoder_layers,
        num_heads=config.num_heads, hidden_dim=config.d_model,
        intermediate_dim=config.d_ff, head_dim=config.d_kv,
        feed_forward="gated" if config.is_gated_act else "mlp",
        activation=("gelu_approximate" if config.dense_act_fn == "gelu_new"
                    else config.dense_act_fn),
        relative_attention_num_buckets=config.relative_attention_num_buckets,
        relative_attention_max_distance=(
            config.relative_attention_max_distance),
        tie_embedding_weights=config.scale_decoder_outputs,
        layer_norm_epsilon=config.layer_norm_epsilon,
    )


def t5_backbone_from(hf, **overrides):
    """A `T5Backbone` holding the weights of `hf`."""
    backbone = T5Backbone(**{**backbone_config(hf), **overrides})
    copy_weights(hf, backbone)
    return backbone


def copy_weights(hf, backbone):
    """Assigns every weight of `hf` (a `T5ForConditionalGeneration`) to
    `backbone`, checking that each of the backbone's is set once."""
    tensors = {name: value.detach().numpy()
               for name, value in hf.named_parameters()}
    assigned = []

    def put(variable, value):
        assert tuple(variable.shape) == value.shape, (variable.path,
                                                      value.shape)
        variable.assign(value)
        assigned.append(variable.path)

    def linear(name):  # [out, in] -> [in, out]
        return tensors[name + ".weight"].T

    def attention(layer, prefix):
        put(layer.qkv_kernel, np.concatenate(
            [linear(prefix + part) for part in ("q", "k", "v")], axis=1))
        put(layer.output_kernel, linear(prefix + "o"))

    put(backbone.token_embedding.embeddings, tensors["shared.weight"])
    for stack in ("encoder", "decoder"):
        blocks = getattr(backbone, f"{stack}_layers")
        put(getattr(backbone, f"{stack}_relative_position_bias")
            .relative_attention_bias,
            tensors[f"{stack}.block.0.layer.0.SelfAttention."
                    f"relative_attention_bias.weight"])
        for index, block in enumerate(blocks):
            prefix = f"{stack}.block.{index}.layer."
            attention(block.attention, prefix + "0.SelfAttention.")
            put(block.attention_norm.scale,
                tensors[prefix + "0.layer_norm.weight"])
            last = 1
            if stack == "decoder":
                attention(block.cross_attention, prefix + "1.EncDecAttention.")
                put(block.cross_attention_norm.scale,
                    tensors[prefix + "1.layer_norm.weight"])
                last = 2
            dense = f"{prefix}{last}.DenseReluDense."
            feed_forward = block.feed_forward
            if backbone.feed_forward == "gated":
                put(feed_forward.gate_up_kernel, np.stack(
                    [linear(dense + "wi_0"), linear(dense + "wi_1")], axis=1))
                put(feed_forward.output_kernel, linear(dense + "wo"))
            else:
                put(feed_forward.intermediate.kernel, linear(dense + "wi"))
                put(feed_forward.output_dense.kernel, linear(dense + "wo"))
            put(block.feed_forward_norm.scale,
                tensors[f"{prefix}{last}.layer_norm.weight"])
        put(getattr(backbone, f"{stack}_final_norm").scale,
            tensors[f"{stack}.final_layer_norm.weight"])
    if backbone.lm_head is not None:
        put(backbone.lm_head.kernel, linear("lm_head"))
    missing = {v.path for v in backbone.weights} - set(assigned)
    assert not missing, missing
    assert len(assigned) == len(set(assigned))
