"""The BERT family: encoders (BERT, RoBERTa and DistilBERT checkpoints)."""

from tfzoo.models import registry
from tfzoo.models.bert import (
    hf_bert,
    hf_distilbert,
    hf_roberta,
    keras_hub_bert,
)
from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_classifier import BertClassifier
from tfzoo.models.bert.bert_masked_lm import BertMaskedLM
from tfzoo.models.bert.bert_pretrainer import BertPretrainer
from tfzoo.models.bert.bert_question_answerer import BertQuestionAnswerer
from tfzoo.models.bert.bert_text_embedder import BertTextEmbedder
from tfzoo.models.bert.bert_token_classifier import BertTokenClassifier

__all__ = [
    "BertBackbone", "BertClassifier", "BertMaskedLM", "BertPretrainer",
    "BertQuestionAnswerer", "BertTextEmbedder", "BertTokenClassifier",
]

for checkpoint_format in (hf_bert, hf_roberta, hf_distilbert):
    registry.register_checkpoint_format(checkpoint_format)
registry.register_keras_hub_format(keras_hub_bert)
