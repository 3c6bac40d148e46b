"""The BERT family."""

from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_classifier import BertClassifier
from tfzoo.models.bert.bert_masked_lm import BertMaskedLM
from tfzoo.models.bert.bert_pretrainer import BertPretrainer
from tfzoo.models.bert.bert_question_answerer import BertQuestionAnswerer
from tfzoo.models.bert.bert_token_classifier import BertTokenClassifier
