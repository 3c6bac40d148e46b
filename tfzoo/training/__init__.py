"""Optimizers, schedules, distribution strategies and checkpoints."""

from tfzoo import _backend  # noqa: F401  (Keras must run on TensorFlow)
from tfzoo.training.adamw import AdamW
from tfzoo.training.checkpoints import (
    StepCheckpoint,
    latest_checkpoint_state,
)
from tfzoo.training.nan_guard import NaNGuard, NaNLossError
from tfzoo.training.precision import PRECISIONS, set_precision
from tfzoo.training.schedules import WarmupDecay
from tfzoo.training.strategies import (
    check_global_batch_size,
    resolve_strategy,
)
from tfzoo.training.training_logger import TrainingLogger
