"""Stops training with an error when the loss stops being finite."""

import math

import keras


class NaNLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


class NaNGuard(keras.callbacks.Callback):
    """Raises `NaNLossError` naming the epoch and step of a non-finite loss.

    `Task.fit` adds it unless the callbacks already hold one. Unlike
    `keras.callbacks.TerminateOnNaN`, it fails loudly instead of ending
    `fit` as if training had finished.

    Example:

    >>> guard = NaNGuard()
    >>> guard.on_epoch_begin(0)
    >>> guard.on_train_batch_end(0, {"loss": 0.5})
    """

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NaNLossError(
                f"The training loss became {float(loss)} at epoch "
                f"{getattr(self, 'epoch', 0) + 1}, step {batch + 1}; "
                f"training stopped. Check the data at that step for NaN or "
                f"extreme values, or lower the learning rate."
            )
