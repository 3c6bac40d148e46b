"""Optimizers and schedules (distributed training lands here next)."""

from tfzoo.training.adamw import AdamW
from tfzoo.training.schedules import WarmupDecay
