"""Metrics."""

from tfzoo.metrics.masked_accuracy import MaskedAccuracy
