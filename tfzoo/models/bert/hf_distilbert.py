"""DistilBERT's Hugging Face tensor names, and how they map to
`BertBackbone`.

DistilBERT is BERT's encoder without segment embeddings or a pooler, with
its own names (`transformer.layer.N.attention.q_lin`, `sa_layer_norm`,
`ffn.lin1`, ...), task checkpoints under `distilbert.`. Its sentence
classifier applies `pre_classifier` with a ReLU to the first token: that
is the backbone's pooler with `pooler_activation="relu"`.
"""

from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_classifier import BertClassifier
from tfzoo.models.bert.bert_masked_lm import BertMaskedLM
from tfzoo.models.bert.bert_question_answerer import BertQuestionAnswerer
from tfzoo.models.bert.bert_token_classifier import BertTokenClassifier
from tfzoo.models.bert.hf_bert import (
    attention_specs,
    masked_lm_specs,
    span_head,
    token_classifier_head,
)
from tfzoo.models.hf_format.config_fields import field, require
from tfzoo.models.hf_format.weight_groups import ModelWeights, WeightGroup
from tfzoo.models.hf_format.weight_specs import copy, dense, layer_norm

MODEL_TYPE = "distilbert"
BACKBONE = BertBackbone
ARCHITECTURES = {
    "DistilBertModel": BertBackbone,
    "DistilBertForSequenceClassification": BertClassifier,
    "DistilBertForTokenClassification": BertTokenClassifier,
    "DistilBertForQuestionAnswering": BertQuestionAnswerer,
    "DistilBertForMaskedLM": BertMaskedLM,
}
BASE_PREFIX = "distilbert."
HEAD_PREFIXES = ("vocab_transform.", "vocab_layer_norm.", "vocab_projector.",
                 "pre_classifier.", "classifier.", "qa_outputs.")
IGNORED_SUFFIXES = ("embeddings.position_ids",)
TOKENIZER_CLASS = "DistilBertTokenizer"
SPECIAL_TOKENS = {}  # WordPiece: the vocabulary's own [PAD], [UNK], ...
SPECIAL_TOKEN_IDS = {"pad_token_id": "[PAD]"}


def backbone_kwargs(config):
    """`BertBackbone` arguments for a DistilBERT `config.json`."""
    require(config, "activation", ("gelu",), "gelu")
    return {
        "vocabulary_size": field(config, "vocab_size"),
        "num_layers": field(config, "n_layers"),
        "num_heads": field(config, "n_heads"),
        "hidden_dim": field(config, "dim"),
        "intermediate_dim": field(config, "hidden_dim"),
        "dropout": field(config, "dropout", 0.1),
        "max_sequence_length": field(config, "max_position_embeddings"),
        "num_segments": 0,
        "layer_norm_epsilon": 1e-12,
        "pooler_activation": "relu",
    }


def hf_config(backbone):
    """The `config.json` of `backbone` as a DistilBERT checkpoint."""
    if backbone.num_segments:
        raise ValueError(
            f"DistilBERT has no segment embeddings; this backbone has "
            f"num_segments={backbone.num_segments}. Save it as 'bert'."
        )
    return {
        "vocab_size": backbone.vocabulary_size,
        "dim": backbone.hidden_dim,
        "n_layers": backbone.num_layers,
        "n_heads": backbone.num_heads,
        "hidden_dim": backbone.intermediate_dim,
        "activation": "gelu",
        "dropout": backbone.dropout,
        "attention_dropout": backbone.dropout,
        "max_position_embeddings": backbone.max_sequence_length,
        "sinusoidal_pos_embds": False,
        "pad_token_id": 0,
        "initializer_range": 0.02,
        "tie_word_embeddings": True,
    }


def describes(backbone):
    return backbone.position_offset == 0 and backbone.num_segments == 0


def encoder_specs(backbone, prefix):
    embeddings = backbone.embeddings
    specs = [
        copy(embeddings.token_embedding.embeddings,
             f"{prefix}embeddings.word_embeddings.weight"),
        copy(embeddings.position_embedding.position_embeddings,
             f"{prefix}embeddings.position_embeddings.weight"),
    ] + layer_norm(backbone.embeddings_norm, f"{prefix}embeddings.LayerNorm")
    for index, block in enumerate(backbone.transformer_layers):
        layer = f"{prefix}transformer.layer.{index}."
        specs += attention_specs(
            block.attention, *(f"{layer}attention.{n}_lin"
                               for n in ("q", "k", "v", "out"))
        )
        specs += layer_norm(block.attention_norm, f"{layer}sa_layer_norm")
        specs += dense(block.feed_forward.intermediate, f"{layer}ffn.lin1")
        specs += dense(block.feed_forward.output_dense, f"{layer}ffn.lin2")
        specs += layer_norm(block.feed_forward_norm,
                            f"{layer}output_layer_norm")
    return specs


def model_weights(model, prefix):
    """`ModelWeights` of a DistilBERT backbone or task; `prefix` is "" or
    "distilbert." for the encoder's tensors."""
    backbone = getattr(model, "backbone", model)
    encoder = WeightGroup(
        "encoder", encoder_specs(backbone, prefix), required=True
    )
    if isinstance(model, BertBackbone):
        return ModelWeights("DistilBertModel", [encoder])
    if isinstance(model, BertClassifier):
        return ModelWeights("DistilBertForSequenceClassification", [
            encoder,
            WeightGroup(
                "classification head (pre_classifier is the pooler)",
                dense(backbone.pooler, "pre_classifier")
                + dense(model.output_dense, "classifier"),
                same_architecture_only=True,
            ),
        ])
    if isinstance(model, BertTokenClassifier):
        return ModelWeights("DistilBertForTokenClassification",
                            [encoder, token_classifier_head(model)])
    if isinstance(model, BertQuestionAnswerer):
        return ModelWeights("DistilBertForQuestionAnswering",
                            [encoder, span_head(model)])
    if isinstance(model, BertMaskedLM):
        head = model.masked_lm_head
        return ModelWeights(
            "DistilBertForMaskedLM",
            [encoder, WeightGroup("masked-LM head", masked_lm_specs(
                head, "vocab_transform", "vocab_layer_norm",
                "vocab_projector.bias",
            ))],
            tied=[("vocab_projector.weight",
                   backbone.token_embedding.embeddings)],
        )
    raise TypeError(
        f"{type(model).__name__} has no Hugging Face DistilBERT counterpart "
        f"(DistilBERT has no next-sentence head)."
    )
