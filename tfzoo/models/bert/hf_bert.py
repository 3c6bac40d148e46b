"""BERT's Hugging Face tensor names, and how they map to `BertBackbone`.

`BertModel` checkpoints name their tensors `embeddings.*`, `encoder.*` and
`pooler.*`; task checkpoints (`BertForSequenceClassification`, ...) put the
same names under `bert.` and add a head. The query, key and value
projections are separate `Linear` layers in the checkpoint and one fused
kernel in tfzoo's attention.
"""

from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_classifier import BertClassifier
from tfzoo.models.bert.bert_masked_lm import BertMaskedLM
from tfzoo.models.bert.bert_pretrainer import BertPretrainer
from tfzoo.models.bert.bert_question_answerer import BertQuestionAnswerer
from tfzoo.models.bert.bert_token_classifier import BertTokenClassifier
from tfzoo.models.hf_format.config_fields import field, require
from tfzoo.models.hf_format.weight_groups import ModelWeights, WeightGroup
from tfzoo.models.hf_format.weight_specs import (
    copy,
    dense,
    fused_qkv_bias,
    fused_qkv_kernel,
    layer_norm,
    linear_kernel,
)

MODEL_TYPE = "bert"
BACKBONE = BertBackbone
ARCHITECTURES = {
    "BertModel": BertBackbone,
    "BertForSequenceClassification": BertClassifier,
    "BertForTokenClassification": BertTokenClassifier,
    "BertForQuestionAnswering": BertQuestionAnswerer,
    "BertForMaskedLM": BertMaskedLM,
    "BertForPreTraining": BertPretrainer,
}
BASE_PREFIX = "bert."
# Tensors of heads this family's checkpoints may carry.
HEAD_PREFIXES = ("cls.", "classifier.", "qa_outputs.")
# Buffers some checkpoints store that are not weights.
IGNORED_SUFFIXES = ("embeddings.position_ids", "embeddings.token_type_ids")
TOKENIZER_CLASS = "BertTokenizer"
SPECIAL_TOKENS = {}  # WordPiece: the vocabulary's own [PAD], [UNK], ...
SPECIAL_TOKEN_IDS = {"pad_token_id": "[PAD]"}


def backbone_kwargs(config):
    """`BertBackbone` arguments for a BERT `config.json`."""
    hidden_act = require(
        config, "hidden_act", ("gelu", "gelu_new", "gelu_pytorch_tanh"), "gelu"
    )
    require(config, "position_embedding_type", ("absolute",), "absolute")
    return {
        "vocabulary_size": field(config, "vocab_size"),
        "num_layers": field(config, "num_hidden_layers"),
        "num_heads": field(config, "num_attention_heads"),
        "hidden_dim": field(config, "hidden_size"),
        "intermediate_dim": field(config, "intermediate_size"),
        "dropout": field(config, "hidden_dropout_prob", 0.1),
        "max_sequence_length": field(config, "max_position_embeddings"),
        "num_segments": field(config, "type_vocab_size", 2),
        "layer_norm_epsilon": field(config, "layer_norm_eps", 1e-12),
        "activation": "gelu" if hidden_act == "gelu" else "gelu_approximate",
    }


def bert_layout_config(backbone, position_offset=0):
    """The `config.json` fields BERT and RoBERTa share."""
    if backbone.num_segments < 1:
        raise ValueError(
            "A bert or roberta checkpoint needs segment (token type) "
            "embeddings; this backbone has num_segments=0. Save it as "
            "'distilbert'."
        )
    return {
        "vocab_size": backbone.vocabulary_size,
        "hidden_size": backbone.hidden_dim,
        "num_hidden_layers": backbone.num_layers,
        "num_attention_heads": backbone.num_heads,
        "intermediate_size": backbone.intermediate_dim,
        # keras-hub's BERT (tfzoo.from_keras_hub) uses the tanh GELU.
        "hidden_act": ("gelu" if backbone.activation == "gelu"
                       else "gelu_new"),
        "hidden_dropout_prob": backbone.dropout,
        "attention_probs_dropout_prob": backbone.dropout,
        "max_position_embeddings":
            backbone.max_sequence_length + position_offset,
        "type_vocab_size": backbone.num_segments,
        "layer_norm_eps": backbone.layer_norm_epsilon,
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
    }


def hf_config(backbone):
    """The `config.json` of `backbone` as a BERT checkpoint."""
    return {
        **bert_layout_config(backbone, backbone.position_offset),
        "pad_token_id": 0,
    }


def describes(backbone):
    return backbone.position_offset == 0 and backbone.num_segments > 0


def embedding_specs(backbone, prefix):
    embeddings = backbone.embeddings
    specs = [
        copy(
            embeddings.token_embedding.embeddings,
            f"{prefix}embeddings.word_embeddings.weight",
        ),
        copy(
            embeddings.position_embedding.position_embeddings,
            f"{prefix}embeddings.position_embeddings.weight",
        ),
    ]
    if embeddings.segment_embedding is not None:
        specs.append(
            copy(
                embeddings.segment_embedding.embeddings,
                f"{prefix}embeddings.token_type_embeddings.weight",
            )
        )
    return specs + layer_norm(
        backbone.embeddings_norm, f"{prefix}embeddings.LayerNorm"
    )


def attention_specs(attention, q, k, v, output):
    """Fused attention weights from `{q,k,v,output}.weight/.bias` names."""
    width = attention.num_heads * attention.head_dim
    widths = (width, width, width)
    return [
        fused_qkv_kernel(
            attention.qkv_kernel, [f"{n}.weight" for n in (q, k, v)], widths
        ),
        fused_qkv_bias(
            attention.qkv_bias, [f"{n}.bias" for n in (q, k, v)], widths
        ),
        linear_kernel(attention.output_kernel, f"{output}.weight"),
        copy(attention.output_bias, f"{output}.bias"),
    ]


def encoder_specs(backbone, prefix):
    """Embeddings and blocks of a BERT-layout checkpoint (also RoBERTa)."""
    specs = embedding_specs(backbone, prefix)
    for index, block in enumerate(backbone.transformer_layers):
        layer = f"{prefix}encoder.layer.{index}."
        attention = f"{layer}attention.self."
        specs += attention_specs(
            block.attention,
            f"{attention}query", f"{attention}key", f"{attention}value",
            f"{layer}attention.output.dense",
        )
        specs += layer_norm(
            block.attention_norm, f"{layer}attention.output.LayerNorm"
        )
        specs += dense(
            block.feed_forward.intermediate, f"{layer}intermediate.dense"
        )
        specs += dense(block.feed_forward.output_dense, f"{layer}output.dense")
        specs += layer_norm(
            block.feed_forward_norm, f"{layer}output.LayerNorm"
        )
    return specs


def token_classifier_head(model):
    """The `classifier` of `*ForTokenClassification` (BERT, RoBERTa,
    DistilBERT alike)."""
    return WeightGroup("token classifier head",
                       dense(model.output_dense, "classifier"),
                       same_architecture_only=True)


def span_head(model):
    """The `qa_outputs` of `*ForQuestionAnswering`."""
    return WeightGroup("span head", dense(model.span_head.dense, "qa_outputs"))


def masked_lm_specs(head, transform, norm, bias):
    return (
        dense(head.transform, transform)
        + layer_norm(head.norm, norm)
        + [copy(head.output_bias, bias)]
    )


def model_weights(model, prefix):
    """`ModelWeights` of a BERT backbone or task; `prefix` is "" or
    "bert." for the encoder's tensors."""
    backbone = getattr(model, "backbone", model)
    encoder = WeightGroup(
        "encoder", encoder_specs(backbone, prefix), required=True
    )

    def pooler(used):
        return WeightGroup(
            "pooler", dense(backbone.pooler, f"{prefix}pooler.dense"),
            save=used, announce=used,
        )

    if isinstance(model, BertBackbone):
        return ModelWeights("BertModel", [encoder, pooler(True)])
    if isinstance(model, BertClassifier):
        return ModelWeights(
            "BertForSequenceClassification",
            [encoder, pooler(True),
             WeightGroup("classifier head",
                         dense(model.output_dense, "classifier"),
                         same_architecture_only=True)],
        )
    if isinstance(model, BertTokenClassifier):
        return ModelWeights(
            "BertForTokenClassification",
            [encoder, pooler(False), token_classifier_head(model)],
        )
    if isinstance(model, BertQuestionAnswerer):
        return ModelWeights(
            "BertForQuestionAnswering",
            [encoder, pooler(False), span_head(model)],
        )
    if isinstance(model, (BertMaskedLM, BertPretrainer)):
        head = model.masked_lm_head
        groups = [
            encoder,
            pooler(isinstance(model, BertPretrainer)),
            WeightGroup("masked-LM head", masked_lm_specs(
                head, "cls.predictions.transform.dense",
                "cls.predictions.transform.LayerNorm", "cls.predictions.bias",
            )),
        ]
        architecture = "BertForMaskedLM"
        if isinstance(model, BertPretrainer):
            architecture = "BertForPreTraining"
            groups.append(WeightGroup(
                "next-sentence head",
                dense(model.next_sentence_head, "cls.seq_relationship"),
            ))
        return ModelWeights(
            architecture, groups,
            tied=[
                ("cls.predictions.decoder.weight",
                 backbone.token_embedding.embeddings),
                ("cls.predictions.decoder.bias", head.output_bias),
            ],
        )
    raise TypeError(
        f"{type(model).__name__} has no Hugging Face BERT counterpart."
    )
