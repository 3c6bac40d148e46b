"""T5's Hugging Face tensor names, and how they map to `T5Backbone`.

`T5Model` and `T5ForConditionalGeneration` checkpoints share `shared`
(the token embedding), `encoder.block.N.layer.0.SelfAttention.{q,k,v,o}`,
`decoder.block.N.layer.1.EncDecAttention.*`, `...DenseReluDense.{wi |
wi_0, wi_1, wo}`, per-layer `layer_norm`s and `{encoder,decoder}.
final_layer_norm`; block 0 of each stack holds the relative position bias
table. Projections are PyTorch `Linear` weights `[out, in]` without
biases: the query, key and value fuse into `Attention`'s one kernel, and
T5 v1.1's gate (`wi_0`) and up (`wi_1`) projections into
`GatedFeedForward`'s stacked kernel. T5 v1.1, Flan-T5 and mT5 have an
untied `lm_head`; T5's is the shared embedding (scaled by `d_model **
-0.5` in the forward pass, not in the weights).
"""

from tfzoo.models.hf_format.config_fields import field, require
from tfzoo.models.hf_format.weight_groups import ModelWeights, WeightGroup
from tfzoo.models.hf_format.weight_specs import (
    copy,
    fused_qkv_kernel,
    linear_kernel,
    stacked_linear_kernels,
)
from tfzoo.models.t5.t5_backbone import T5Backbone
from tfzoo.models.t5.t5_seq2seq_lm import T5Seq2SeqLM

MODEL_TYPE = "t5"
BACKBONE = T5Backbone
ARCHITECTURES = {
    "T5Model": T5Backbone,
    "T5ForConditionalGeneration": T5Seq2SeqLM,
}
BASE_PREFIX = ""
HEAD_PREFIXES = ("lm_head.",)
# Old checkpoints carry a decoder cross-attention bias table T5 never uses.
IGNORED_SUFFIXES = ("layer.1.EncDecAttention.relative_attention_bias.weight",)
TOKENIZER_CLASS = "T5Tokenizer"
SENTENCE_PIECE = True  # spiece.model
SPECIAL_TOKENS = {"eos_token": "</s>", "unk_token": "<unk>",
                  "pad_token": "<pad>"}
SPECIAL_TOKEN_IDS = {"pad_token_id": "<pad>", "eos_token_id": "</s>",
                     "decoder_start_token_id": "<pad>"}
FEED_FORWARDS = {  # feed_forward_proj -> (feed_forward, activation)
    "relu": ("mlp", "relu"),
    "gated-gelu": ("gated", "gelu_approximate"),
}


def tied_and_scaled(config):
    """Whether the output layer is the shared embedding with T5's
    `d_model ** -0.5` scale (T5) or an `lm_head` of its own (T5 v1.1,
    Flan-T5, mT5). `transformers` 5 writes `scale_decoder_outputs` for
    this, and `tie_word_embeddings` true whatever the model; earlier
    versions wrote `tie_word_embeddings` false for v1.1."""
    if "scale_decoder_outputs" in config:
        return bool(config["scale_decoder_outputs"])
    return bool(config.get("tie_word_embeddings", True))


def backbone_kwargs(config):
    """`T5Backbone` arguments for a T5 (or mT5) `config.json`."""
    projection = require(config, "feed_forward_proj", tuple(FEED_FORWARDS),
                         "relu")
    feed_forward, activation = FEED_FORWARDS[projection]
    num_layers = field(config, "num_layers")
    return {
        "vocabulary_size": field(config, "vocab_size"),
        "num_layers": num_layers,
        "num_decoder_layers": config.get("num_decoder_layers") or num_layers,
        "num_heads": field(config, "num_heads"),
        "hidden_dim": field(config, "d_model"),
        "intermediate_dim": field(config, "d_ff"),
        "head_dim": field(config, "d_kv"),
        "feed_forward": feed_forward,
        "activation": activation,
        "relative_attention_num_buckets": field(
            config, "relative_attention_num_buckets", 32),
        "relative_attention_max_distance": field(
            config, "relative_attention_max_distance", 128),
        "tie_embedding_weights": tied_and_scaled(config),
        "dropout": field(config, "dropout_rate", 0.1),
        "layer_norm_epsilon": field(config, "layer_norm_epsilon", 1e-6),
    }


def hf_config(backbone):
    """The `config.json` of `backbone` as a T5 checkpoint."""
    projection = {value: key for key, value in FEED_FORWARDS.items()}.get(
        (backbone.feed_forward, backbone.activation))
    if projection is None:
        raise ValueError(
            f"A T5 checkpoint has a relu MLP or a gated-gelu feed-forward; "
            f"this backbone has feed_forward={backbone.feed_forward!r}, "
            f"activation={backbone.activation!r}."
        )
    return {
        "vocab_size": backbone.vocabulary_size,
        "d_model": backbone.hidden_dim,
        "d_kv": backbone.head_dim,
        "d_ff": backbone.intermediate_dim,
        "num_layers": backbone.num_layers,
        "num_decoder_layers": backbone.num_decoder_layers,
        "num_heads": backbone.num_heads,
        "relative_attention_num_buckets":
            backbone.relative_attention_num_buckets,
        "relative_attention_max_distance":
            backbone.relative_attention_max_distance,
        "dropout_rate": backbone.dropout,
        "layer_norm_epsilon": backbone.layer_norm_epsilon,
        "feed_forward_proj": projection,
        "tie_word_embeddings": backbone.tie_embedding_weights,
        "is_encoder_decoder": True,
        "pad_token_id": 0,
        "eos_token_id": 1,
        "decoder_start_token_id": 0,
        "initializer_factor": 1.0,
    }


def describes(backbone):
    return True  # every T5Backbone


def attention_specs(attention, prefix):
    width = attention.num_heads * attention.head_dim
    return [
        fused_qkv_kernel(attention.qkv_kernel,
                         [f"{prefix}{n}.weight" for n in "qkv"],
                         (width, width, width)),
        linear_kernel(attention.output_kernel, f"{prefix}o.weight"),
    ]


def feed_forward_specs(block, gated, prefix):
    feed_forward = block.feed_forward
    if gated:
        return [
            stacked_linear_kernels(feed_forward.gate_up_kernel,
                                   [f"{prefix}wi_0.weight",
                                    f"{prefix}wi_1.weight"]),
            linear_kernel(feed_forward.output_kernel, f"{prefix}wo.weight"),
        ]
    return [
        linear_kernel(feed_forward.intermediate.kernel, f"{prefix}wi.weight"),
        linear_kernel(feed_forward.output_dense.kernel, f"{prefix}wo.weight"),
    ]


def stack_specs(backbone, stack):
    gated = backbone.feed_forward == "gated"
    bias = getattr(backbone, f"{stack}_relative_position_bias")
    specs = [copy(bias.relative_attention_bias,
                  f"{stack}.block.0.layer.0.SelfAttention."
                  f"relative_attention_bias.weight")]
    for index, block in enumerate(getattr(backbone, f"{stack}_layers")):
        layer = f"{stack}.block.{index}.layer."
        specs += attention_specs(block.attention, f"{layer}0.SelfAttention.")
        specs.append(copy(block.attention_norm.scale,
                          f"{layer}0.layer_norm.weight"))
        last = 1
        if stack == "decoder":
            specs += attention_specs(block.cross_attention,
                                     f"{layer}1.EncDecAttention.")
            specs.append(copy(block.cross_attention_norm.scale,
                              f"{layer}1.layer_norm.weight"))
            last = 2
        specs += feed_forward_specs(block, gated,
                                    f"{layer}{last}.DenseReluDense.")
        specs.append(copy(block.feed_forward_norm.scale,
                          f"{layer}{last}.layer_norm.weight"))
    final_norm = getattr(backbone, f"{stack}_final_norm")
    return specs + [copy(final_norm.scale,
                         f"{stack}.final_layer_norm.weight")]


def model_weights(model, prefix):
    """`ModelWeights` of a T5 backbone or `T5Seq2SeqLM`."""
    backbone = getattr(model, "backbone", model)
    shared = backbone.token_embedding.embeddings
    specs = ([copy(shared, "shared.weight")] + stack_specs(backbone, "encoder")
             + stack_specs(backbone, "decoder"))
    groups = [WeightGroup("encoder-decoder", specs, required=True)]
    tied = [("encoder.embed_tokens.weight", shared),
            ("decoder.embed_tokens.weight", shared)]
    if backbone.lm_head is not None:
        groups.append(WeightGroup(
            "lm_head", [linear_kernel(backbone.lm_head.kernel,
                                      "lm_head.weight")],
            required=True,
        ))
    else:
        tied.append(("lm_head.weight", shared))
    if isinstance(model, T5Backbone):
        return ModelWeights("T5Model", groups, tied=tied)
    if isinstance(model, T5Seq2SeqLM):
        return ModelWeights("T5ForConditionalGeneration", groups, tied=tied)
    raise TypeError(
        f"{type(model).__name__} has no Hugging Face T5 counterpart."
    )
