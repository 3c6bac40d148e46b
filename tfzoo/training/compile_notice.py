"""Says what the first training step waits for: the XLA compilation."""

import time

import keras

# Seconds of XLA compilation per trainable weight tensor on 2 CPU cores
# (gpt_tiny, 28 tensors: 7-14 s; bert_mini, 57: 20 s); a rough guide.
SECONDS_PER_WEIGHT = 0.4


class CompileNotice(keras.callbacks.Callback):
    """Prints a line before the first training step, which compiles the
    XLA step first, and how long that step took.

    `Task.fit` adds it when verbose and the step is not compiled yet (the
    first fit after `compile`). XLA compiles again for each new batch
    shape (a last, smaller batch; each length bucket); those are not
    announced.
    """

    def __init__(self):
        super().__init__()
        self._start = None
        self._reported = False

    def on_train_batch_begin(self, batch, logs=None):
        if self._start is None:
            seconds = len(self.model.trainable_weights) * SECONDS_PER_WEIGHT
            print(f"compiling the XLA training step before the first step "
                  f"(roughly {max(5, 5 * round(seconds / 5))} s on 2 CPU "
                  f"cores)...", flush=True)
            self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if not self._reported:
            self._reported = True
            print(f"compiled: the first step took "
                  f"{time.perf_counter() - self._start:.1f} s", flush=True)
