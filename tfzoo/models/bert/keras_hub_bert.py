"""keras-hub's BERT (`BertBackbone`, `BertTextClassifier`) in tfzoo.

keras-hub's BERT is tfzoo's `BertBackbone` with the tanh GELU
(`activation="gelu_approximate"`) and LayerNorm epsilon 1e-12. Its
variables are renamed to the Hugging Face BERT tensors of `hf_bert`,
which loads them (`tfzoo.from_keras_hub`); the classifier's `logits`
layer becomes `classifier`.
"""

from tfzoo.models.bert import hf_bert
from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_classifier import BertClassifier
from tfzoo.models.hf_format.keras_hub_layout import (
    linear,
    output_projection,
    pair,
    projection,
    weight_and_bias,
)

KERAS_HUB_CLASSES = {
    "BertBackbone": BertBackbone,
    "BertTextClassifier": BertClassifier,
}
CHECKPOINT_FORMAT = hf_bert


def backbone_kwargs(config):
    """`BertBackbone` arguments for a keras-hub `BertBackbone` config."""
    return {
        "vocabulary_size": config["vocabulary_size"],
        "num_layers": config["num_layers"],
        "num_heads": config["num_heads"],
        "hidden_dim": config["hidden_dim"],
        "intermediate_dim": config["intermediate_dim"],
        "dropout": config.get("dropout", 0.1),
        "max_sequence_length": config.get("max_sequence_length", 512),
        "num_segments": config.get("num_segments", 2),
        "layer_norm_epsilon": 1e-12,
        "activation": "gelu_approximate",
    }


def task_kwargs(config):
    """`BertClassifier` arguments for a keras-hub `BertTextClassifier`."""
    activation = config.get("activation") or "linear"
    if activation not in ("linear", None):
        raise ValueError(
            f"This BertTextClassifier has activation={activation!r}; "
            f"tfzoo's BertClassifier outputs logits (activation='linear'). "
            f"Rebuild the keras-hub classifier with activation=None."
        )
    return {"num_classes": config["num_classes"],
            "dropout": config.get("dropout", 0.1)}


def hf_tensors(arrays):
    """keras-hub variable path -> array, as Hugging Face BERT tensors."""
    tensors = {
        "embeddings.word_embeddings.weight":
            arrays["token_embedding/embeddings"],
        "embeddings.position_embeddings.weight":
            arrays["position_embedding/embeddings"],
        "embeddings.token_type_embeddings.weight":
            arrays["segment_embedding/embeddings"],
        **weight_and_bias("embeddings.LayerNorm", *pair(
            arrays, "embeddings_layer_norm", "gamma", "beta")),
        **linear("pooler.dense", *pair(arrays, "pooled_dense")),
    }
    index = 0
    while f"transformer_layer_{index}/feedforward_layer_norm/gamma" in arrays:
        source = f"transformer_layer_{index}"
        attention = f"{source}/self_attention_layer"
        layer = f"encoder.layer.{index}"
        for part in ("query", "key", "value"):
            tensors.update(linear(f"{layer}.attention.self.{part}",
                                  *projection(arrays, f"{attention}/{part}")))
        tensors.update(linear(
            f"{layer}.attention.output.dense",
            *output_projection(arrays, f"{attention}/attention_output")))
        tensors.update(weight_and_bias(
            f"{layer}.attention.output.LayerNorm",
            *pair(arrays, f"{source}/self_attention_layer_norm",
                  "gamma", "beta")))
        tensors.update(linear(
            f"{layer}.intermediate.dense",
            *pair(arrays, f"{source}/feedforward_intermediate_dense")))
        tensors.update(linear(
            f"{layer}.output.dense",
            *pair(arrays, f"{source}/feedforward_output_dense")))
        tensors.update(weight_and_bias(
            f"{layer}.output.LayerNorm",
            *pair(arrays, f"{source}/feedforward_layer_norm",
                  "gamma", "beta")))
        index += 1
    if "logits/kernel" in arrays:
        tensors.update(linear("classifier", *pair(arrays, "logits")))
    return tensors
