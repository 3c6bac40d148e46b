"""Backbones and task models."""

from tfzoo import _backend  # noqa: F401  (Keras must run on TensorFlow)
from tfzoo.models.backbone import Backbone
from tfzoo.models.bert import (
    BertBackbone,
    BertClassifier,
    BertMaskedLM,
    BertPretrainer,
    BertQuestionAnswerer,
    BertTokenClassifier,
)
from tfzoo.models.generative_task import GenerativeTask
from tfzoo.models.gpt import GPTBackbone, GPTCausalLM
from tfzoo.models.task import Task
