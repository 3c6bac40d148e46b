"""Packers and per-task preprocessors: raw text to model inputs."""

from tfzoo.preprocessing.bert_classifier_preprocessor import (
    BertClassifierPreprocessor,
)
from tfzoo.preprocessing.multi_segment_packer import MultiSegmentPacker
