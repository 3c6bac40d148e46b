"""TensorBoard scalars beyond the loss, and a summary when training ends.

`TrainingLogger(log_dir)` writes, every `update_freq` steps, the learning
rate, steps per second (and examples and tokens per second when
`batch_size` and `sequence_length` are given) and the gradient norm when
the model logs one (`Task.compile(log_gradient_norm=True)`). Keras'
`keras.callbacks.TensorBoard` covers the loss and metrics; use both with
the same `log_dir`. At the end of `fit` it prints one line: the steps this
run trained (a run resumed by `StepCheckpoint` passes its restored steps by
without training them, and they are not counted), time, throughput and the
final loss. Steps are read off the optimizer's step counter, so they are
counted right with `steps_per_execution` too.

>>> import tempfile
>>> logger = TrainingLogger(tempfile.mkdtemp(), batch_size=32)
>>> logger.update_freq
10
"""

import os
import time

import keras
import tensorflow as tf


class TrainingLogger(keras.callbacks.Callback):
    """Learning rate, throughput and gradient norm to TensorBoard."""

    def __init__(self, log_dir, update_freq=10, batch_size=None,
                 sequence_length=None, print_summary=True):
        super().__init__()
        self.log_dir = log_dir
        self.update_freq = update_freq
        self.batch_size = batch_size
        self.sequence_length = sequence_length
        self.print_summary = print_summary
        self._writer = None

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(
            os.path.join(self.log_dir, "train")
        )
        self._start = self._window_start = None
        self._steps = 0
        self._last_logs = {}

    def on_train_batch_begin(self, batch, logs=None):
        # Here rather than in on_train_begin: a StepCheckpoint restores the
        # step counter in its own on_train_begin.
        if self._start is None:
            self._start = self._window_start = time.perf_counter()
            self._first_step = self._window_first_step = self._step()

    def on_train_batch_end(self, batch, logs=None):
        step = self._step()
        self._steps = step - self._first_step
        self._last_logs = logs or {}
        window_steps = step - self._window_first_step
        if window_steps < self.update_freq:
            return
        now = time.perf_counter()
        steps_per_second = window_steps / (now - self._window_start)
        with self._writer.as_default(step=step):
            tf.summary.scalar("learning_rate", self._learning_rate())
            tf.summary.scalar("steps_per_second", steps_per_second)
            if self.batch_size:
                examples = steps_per_second * self.batch_size
                tf.summary.scalar("examples_per_second", examples)
                if self.sequence_length:
                    tf.summary.scalar("tokens_per_second",
                                      examples * self.sequence_length)
            if "gradient_norm" in self._last_logs:
                tf.summary.scalar("gradient_norm",
                                  float(self._last_logs["gradient_norm"]))
        self._window_start, self._window_first_step = now, step

    def on_train_end(self, logs=None):
        self._writer.flush()
        if not self.print_summary:
            return
        if not self._steps:
            print(f"this run trained 0 steps (global step {self._step()}: "
                  f"nothing was left to train)")
            return
        seconds = time.perf_counter() - self._start
        line = (f"this run trained {self._steps} steps (global step "
                f"{self._first_step} -> {self._first_step + self._steps}) "
                f"in {seconds:.1f} s ({self._steps / seconds:.2f} steps/s")
        if self.batch_size:
            line += f", {self._steps * self.batch_size / seconds:,.0f} examples/s"
        line += ")"
        loss = (logs or self._last_logs).get("loss")
        if loss is not None:
            line += f", final loss {float(loss):.4f}"
        print(line)

    def _step(self):
        """The optimizer's step counter (a mirrored variable too) as int."""
        return int(self.model.optimizer.iterations.numpy())

    def _learning_rate(self):
        optimizer = self.model.optimizer
        rate = optimizer.learning_rate
        return float(rate.numpy() if hasattr(rate, "numpy") else rate)
