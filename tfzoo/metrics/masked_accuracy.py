"""Accuracy that skips positions labelled with an ignore value."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfzoo")
class MaskedAccuracy(keras.metrics.Mean):
    """Sparse categorical accuracy over labels not equal to `ignore_label`.

    For per-token labels where -100 marks positions that do not count
    (padding, special tokens, non-first sub-tokens).

    Example:

    >>> import numpy as np
    >>> metric = MaskedAccuracy()
    >>> labels = np.array([[1, 0, -100]])
    >>> logits = np.array([[[0., 1.], [0., 1.], [1., 0.]]])
    >>> metric.update_state(labels, logits)
    >>> float(metric.result())
    0.5
    """

    def __init__(self, ignore_label=-100, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.ignore_label = ignore_label

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = tf.cast(y_true, "int32")
        y_pred = tf.convert_to_tensor(y_pred)
        if y_true.shape.rank == y_pred.shape.rank:
            y_true = tf.squeeze(y_true, -1)
        predicted = tf.argmax(y_pred, axis=-1, output_type="int32")
        matches = tf.cast(tf.equal(predicted, y_true), self.dtype)
        weights = tf.cast(tf.not_equal(y_true, self.ignore_label), self.dtype)
        if sample_weight is not None:
            weights = weights * tf.cast(sample_weight, self.dtype)
        super().update_state(matches, sample_weight=weights)

    def get_config(self):
        config = super().get_config()
        config["ignore_label"] = self.ignore_label
        return config
