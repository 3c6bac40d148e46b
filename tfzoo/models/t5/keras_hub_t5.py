"""keras-hub's T5 (`T5Backbone`, `T5Seq2SeqLM`) in tfzoo.

keras-hub's T5 is tfzoo's `T5Backbone`: T5's RMS layer norm, unscaled
attention scores without biases, a relative position bias table (32
buckets, distance 128) held by layer 0 of each stack, and a gated
(`use_gated_activation=True`, keras-hub's default) or plain feed-forward
with keras-hub's `activation`, converted as it is: keras-hub's "gelu" is
the exact GELU (tfzoo `activation="gelu"`), not the tanh GELU that
`transformers` uses for T5 v1.1 ("gelu_approximate"), so outputs equal
keras-hub's. With `tie_embedding_weights=True` both project onto the
token embedding after scaling by `hidden_dim ** -0.5`; untied, keras-hub's
`token_embedding/reverse_embeddings` `[hidden, vocabulary]` becomes
tfzoo's `lm_head`, unscaled in both.

keras-hub's variable paths do not name their layers uniquely (both
stacks' relative position tables are `self_attention/embeddings`, and
the layer norms are `t5_layer_norm_N` with a process-wide counter), so
`hf_tensors_of` reads the keras-hub layers themselves and names their
weights as the Hugging Face T5 tensors of `hf_t5`, which loads them
(`tfzoo.from_keras_hub`).

keras-hub's `T5Tokenizer` is its SentencePiece proto; it has no
sentinels of its own (`<extra_id_N>` are whatever pieces the proto
holds), so the converted `SentencePieceTokenizer` has `extra_ids=0` and
gives the same ids on the same text.
"""

import numpy as np

from tfzoo.models.t5 import hf_t5
from tfzoo.models.t5.t5_backbone import T5Backbone
from tfzoo.models.t5.t5_seq2seq_lm import T5Seq2SeqLM

KERAS_HUB_CLASSES = {"T5Backbone": T5Backbone, "T5Seq2SeqLM": T5Seq2SeqLM}
CHECKPOINT_FORMAT = hf_t5
# keras-hub's fixed relative position bias buckets and distance.
RELATIVE_ATTENTION = {"relative_attention_num_buckets": 32,
                      "relative_attention_max_distance": 128}
# keras-hub's serialized activation -> tfzoo's activation name.
ACTIVATIONS = {
    "relu": "relu",
    "gelu": "gelu",  # exact (erf) GELU, as keras.activations.gelu
    # keras-hub's tanh GELU (`keras_hub.src.utils.keras_utils`).
    "keras_hub>gelu_approximate": "gelu_approximate",
    "keras_nlp>gelu_approximate": "gelu_approximate",
}


def activation_name(config):
    """tfzoo's name for the keras-hub config's feed-forward activation."""
    activation = config.get("activation", "relu")
    # A registered function serializes as a dict naming it in "config".
    key = (activation.get("config") if isinstance(activation, dict)
           else activation)
    name = ACTIVATIONS.get(key) if isinstance(key, str) else None
    if name is None:
        raise NotImplementedError(
            f"This keras-hub T5Backbone has activation={activation!r}; "
            f"tfzoo.from_keras_hub converts T5 with "
            f"{sorted(set(ACTIVATIONS))}."
        )
    return name


def backbone_kwargs(config):
    """`T5Backbone` arguments for a keras-hub `T5Backbone` config."""
    return {
        "vocabulary_size": config["vocabulary_size"],
        "num_layers": config["num_layers"],
        "num_decoder_layers": config["num_layers"],
        "num_heads": config["num_heads"],
        "hidden_dim": config["hidden_dim"],
        "intermediate_dim": config["intermediate_dim"],
        "head_dim": config.get("key_value_dim") or None,
        "feed_forward": ("gated" if config.get("use_gated_activation", True)
                         else "mlp"),
        "activation": activation_name(config),
        "tie_embedding_weights": bool(
            config.get("tie_embedding_weights", True)),
        "dropout": config.get("dropout", 0.1),
        "layer_norm_epsilon": config.get("layer_norm_epsilon", 1e-6),
        **RELATIVE_ATTENTION,
    }


def task_kwargs(config):
    """`T5Seq2SeqLM` arguments for a keras-hub `T5Seq2SeqLM`: none (its
    sampler is chosen per `generate` call in tfzoo)."""
    return {}


def _value(variable):
    return np.asarray(variable.numpy())


def _attention(attention, prefix):
    """An attention block's `[in, out]` Dense kernels as PyTorch
    `Linear` weights `[out, in]`."""
    return {
        f"{prefix}{name}.weight": _value(
            getattr(attention, f"{part}_projector").kernel).T
        for name, part in (("q", "query"), ("k", "key"), ("v", "value"),
                           ("o", "output"))
    }


def _stack(layers, final_norm, stack):
    tensors = {
        f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias."
        f"weight": _value(layers[0].self_attention.relative_attention_bias),
        f"{stack}.final_layer_norm.weight": _value(final_norm.weight),
    }
    for index, layer in enumerate(layers):
        name = f"{stack}.block.{index}.layer."
        tensors.update(_attention(layer.self_attention,
                                  f"{name}0.SelfAttention."))
        tensors[f"{name}0.layer_norm.weight"] = _value(
            layer.self_attention_layer_norm.weight)
        last = 1
        if layer.is_decoder:
            tensors.update(_attention(layer.cross_attention,
                                      f"{name}1.EncDecAttention."))
            tensors[f"{name}1.layer_norm.weight"] = _value(
                layer.cross_attention_layer_norm.weight)
            last = 2
        feed_forward = f"{name}{last}.DenseReluDense."
        # keras-hub: activation(input_projector(x)) * gate_projector(x);
        # Hugging Face: act(wi_0(x)) * wi_1(x).
        if layer.use_gated_activation:
            tensors[f"{feed_forward}wi_0.weight"] = _value(
                layer.input_projector.kernel).T
            tensors[f"{feed_forward}wi_1.weight"] = _value(
                layer.gate_projector.kernel).T
        else:
            tensors[f"{feed_forward}wi.weight"] = _value(
                layer.input_projector.kernel).T
        tensors[f"{feed_forward}wo.weight"] = _value(
            layer.output_projector.kernel).T
        tensors[f"{name}{last}.layer_norm.weight"] = _value(
            layer.layer_norm.weight)
    return tensors


def hf_tensors_of(model):
    """A keras-hub `T5Backbone` or `T5Seq2SeqLM`'s weights as Hugging Face
    T5 tensors (read from its layers: its variable paths are not
    unique)."""
    backbone = getattr(model, "backbone", model)
    embedding = backbone.token_embedding
    tensors = {"shared.weight": _value(embedding.embeddings)}
    if not backbone.tie_embedding_weights:
        tensors["lm_head.weight"] = _value(embedding.reverse_embeddings).T
    tensors.update(_stack(backbone.encoder_transformer_layers,
                          backbone.encoder_layer_norm, "encoder"))
    tensors.update(_stack(backbone.decoder_transformer_layers,
                          backbone.decoder_layer_norm, "decoder"))
    return tensors
