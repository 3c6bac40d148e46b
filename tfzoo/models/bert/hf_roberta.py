"""RoBERTa's Hugging Face tensor names, and how they map to `BertBackbone`.

RoBERTa is BERT's encoder with other habits: positions count from
`pad_token_id + 1` (the backbone's `position_offset`), one token type, a
byte-level BPE tokenizer, task checkpoints under `roberta.`, and a
sentence classifier whose `classifier.dense` (tanh, on the first token)
plays the part of BERT's pooler; it loads into the backbone's pooler.
"""

from tfzoo.models.bert import hf_bert
from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_classifier import BertClassifier
from tfzoo.models.bert.bert_masked_lm import BertMaskedLM
from tfzoo.models.bert.bert_question_answerer import BertQuestionAnswerer
from tfzoo.models.bert.bert_token_classifier import BertTokenClassifier
from tfzoo.models.bert.hf_bert import (
    encoder_specs,
    masked_lm_specs,
    span_head,
    token_classifier_head,
)
from tfzoo.models.hf_format.config_fields import field
from tfzoo.models.hf_format.weight_groups import ModelWeights, WeightGroup
from tfzoo.models.hf_format.weight_specs import dense

MODEL_TYPE = "roberta"
BACKBONE = BertBackbone
ARCHITECTURES = {
    "RobertaModel": BertBackbone,
    "RobertaForSequenceClassification": BertClassifier,
    "RobertaForTokenClassification": BertTokenClassifier,
    "RobertaForQuestionAnswering": BertQuestionAnswerer,
    "RobertaForMaskedLM": BertMaskedLM,
}
BASE_PREFIX = "roberta."
HEAD_PREFIXES = ("lm_head.", "classifier.", "qa_outputs.")
IGNORED_SUFFIXES = ("embeddings.position_ids", "embeddings.token_type_ids")
TOKENIZER_CLASS = "RobertaTokenizer"
SPECIAL_TOKENS = {
    "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
    "sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>",
    "mask_token": "<mask>",
}
# How RoBERTa wraps segments, by token role: `<s> a </s></s> b </s>`
# (read from tokenizer.json's post-processor when the checkpoint has one).
PACKING_ROLES = {"start": "cls_token", "end": "sep_token", "pad": "pad_token",
                 "pair_start": ["sep_token"]}
SPECIAL_TOKEN_IDS = {
    "pad_token_id": "<pad>", "bos_token_id": "<s>", "eos_token_id": "</s>",
}


def backbone_kwargs(config):
    """`BertBackbone` arguments for a RoBERTa `config.json`."""
    kwargs = hf_bert.backbone_kwargs(config)
    # RoBERTa numbers real tokens from padding_idx + 1.
    offset = field(config, "pad_token_id", 1) + 1
    kwargs["position_offset"] = offset
    kwargs["max_sequence_length"] -= offset
    return kwargs


def hf_config(backbone):
    """The `config.json` of `backbone` as a RoBERTa checkpoint."""
    offset = backbone.position_offset
    if offset < 1:
        raise ValueError(
            "A RoBERTa checkpoint numbers positions from pad_token_id + "
            "1; this backbone has position_offset=0. Save it as 'bert'."
        )
    return {
        **hf_bert.bert_layout_config(backbone, offset),
        "pad_token_id": offset - 1, "bos_token_id": 0, "eos_token_id": 2,
    }


def describes(backbone):
    return backbone.position_offset > 0


def model_weights(model, prefix):
    """`ModelWeights` of a RoBERTa backbone or task; `prefix` is "" or
    "roberta." for the encoder's tensors."""
    backbone = getattr(model, "backbone", model)
    encoder = WeightGroup(
        "encoder", encoder_specs(backbone, prefix), required=True
    )
    if isinstance(model, BertBackbone):
        pooler = WeightGroup(
            "pooler", dense(backbone.pooler, f"{prefix}pooler.dense"),
        )
        return ModelWeights("RobertaModel", [encoder, pooler])
    if isinstance(model, BertClassifier):
        return ModelWeights("RobertaForSequenceClassification", [
            encoder,
            WeightGroup(
                "classification head (classifier.dense is the pooler)",
                dense(backbone.pooler, "classifier.dense")
                + dense(model.output_dense, "classifier.out_proj"),
                same_architecture_only=True,
            ),
        ])
    if isinstance(model, BertTokenClassifier):
        return ModelWeights("RobertaForTokenClassification",
                            [encoder, token_classifier_head(model)])
    if isinstance(model, BertQuestionAnswerer):
        return ModelWeights("RobertaForQuestionAnswering",
                            [encoder, span_head(model)])
    if isinstance(model, BertMaskedLM):
        head = model.masked_lm_head
        return ModelWeights(
            "RobertaForMaskedLM",
            [encoder, WeightGroup("masked-LM head", masked_lm_specs(
                head, "lm_head.dense", "lm_head.layer_norm", "lm_head.bias"
            ))],
            tied=[("lm_head.decoder.weight",
                   backbone.token_embedding.embeddings),
                  ("lm_head.decoder.bias", head.output_bias)],
        )
    raise TypeError(
        f"{type(model).__name__} has no Hugging Face RoBERTa counterpart "
        f"(RoBERTa has no next-sentence head)."
    )
