"""Backbones and task models."""

from tfzoo.models.backbone import Backbone
from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.task import Task
