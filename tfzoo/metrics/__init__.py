"""Metrics."""

from tfzoo import _backend  # noqa: F401  (Keras must run on TensorFlow)
from tfzoo.metrics.bleu import corpus_bleu
from tfzoo.metrics.chrf import corpus_chrf
from tfzoo.metrics.classification_metrics import classification_metrics
from tfzoo.metrics.entity_metrics import entity_metrics, entity_spans
from tfzoo.metrics.masked_accuracy import MaskedAccuracy
from tfzoo.metrics.perplexity import Perplexity
from tfzoo.metrics.squad_metrics import (
    exact_match,
    normalize_answer,
    squad_metrics,
    token_f1,
)
from tfzoo.metrics.retrieval_metrics import retrieval_metrics
from tfzoo.metrics.rouge import mean_words, rouge
from tfzoo.metrics.sts_metrics import sts_metrics
