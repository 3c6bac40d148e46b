"""Optimizers, schedules and distribution strategies."""

from tfzoo.training.adamw import AdamW
from tfzoo.training.nan_guard import NaNGuard, NaNLossError
from tfzoo.training.schedules import WarmupDecay
from tfzoo.training.strategies import (
    check_global_batch_size,
    resolve_strategy,
)
