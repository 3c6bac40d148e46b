"""Learning-rate schedules."""

import math

import keras
import tensorflow as tf

DECAY_TYPES = ("linear", "cosine", "constant")


@keras.saving.register_keras_serializable(package="tfzoo")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to `peak_learning_rate`, then linear or cosine decay.

    The rate rises linearly over `warmup_steps`, then decays to
    `end_learning_rate` at `total_steps` and stays there.

    Example:

    >>> schedule = WarmupDecay(1e-3, warmup_steps=10, total_steps=100)
    >>> round(float(schedule(5)), 6), round(float(schedule(55)), 6)
    (0.0006, 0.0005)
    """

    def __init__(
        self,
        peak_learning_rate,
        warmup_steps,
        total_steps,
        decay="linear",
        end_learning_rate=0.0,
    ):
        if decay not in DECAY_TYPES:
            raise ValueError(
                f"decay must be one of {DECAY_TYPES}, got {decay!r}."
            )
        if warmup_steps < 0 or total_steps < warmup_steps:
            raise ValueError(
                f"Need 0 <= warmup_steps <= total_steps, got "
                f"warmup_steps={warmup_steps}, total_steps={total_steps}."
            )
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.decay = decay
        self.end_learning_rate = end_learning_rate

    def __call__(self, step):
        step = tf.cast(step, "float32")
        peak = tf.cast(self.peak_learning_rate, "float32")
        end = tf.cast(self.end_learning_rate, "float32")
        warmup = float(max(self.warmup_steps, 1))
        warmup_rate = peak * tf.minimum(step + 1.0, warmup) / warmup
        decay_length = float(max(self.total_steps - self.warmup_steps, 1))
        progress = tf.clip_by_value(
            (step - self.warmup_steps) / decay_length, 0.0, 1.0
        )
        if self.decay == "linear":
            decayed = end + (peak - end) * (1.0 - progress)
        elif self.decay == "cosine":
            cosine = 0.5 * (1.0 + tf.cos(math.pi * progress))
            decayed = end + (peak - end) * cosine
        else:
            decayed = peak
        if self.warmup_steps == 0:
            return decayed
        return tf.where(step < self.warmup_steps, warmup_rate, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "decay": self.decay,
            "end_learning_rate": self.end_learning_rate,
        }
