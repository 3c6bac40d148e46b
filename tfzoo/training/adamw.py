"""AdamW as BERT trains it: no weight decay on LayerNorm and biases."""

import keras

from tfzoo.legacy_layout import reshaped_store

# Variable names that get no weight decay: LayerNorm scales and offsets, and
# every bias (Dense "bias", attention "qkv_bias"/"output_bias").
NO_DECAY_NAMES = ("bias", "gamma", "beta")


@keras.saving.register_keras_serializable(package="tfzoo")
class AdamW(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` that skips decay for `no_decay_names`.

    The exclusion is part of the config, so it survives `.keras` saving.
    Defaults follow BERT: weight decay 0.01, epsilon 1e-6, and gradients
    clipped to a global norm of 1.

    Example:

    >>> optimizer = AdamW(learning_rate=1e-4)
    >>> optimizer.global_clipnorm, optimizer.no_decay_names
    (1.0, ['bias', 'gamma', 'beta'])
    """

    def __init__(
        self,
        learning_rate=1e-4,
        weight_decay=0.01,
        epsilon=1e-6,
        global_clipnorm=1.0,
        no_decay_names=NO_DECAY_NAMES,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            epsilon=epsilon,
            global_clipnorm=global_clipnorm,
            **kwargs,
        )
        self.no_decay_names = list(no_decay_names)
        self.exclude_from_weight_decay(var_names=self.no_decay_names)

    def load_own_variables(self, store):
        """Also reads moments saved in the layout before the merged
        attention layer (see `tfzoo.legacy_layout`)."""
        super().load_own_variables(reshaped_store(store, self.variables))

    def get_config(self):
        config = super().get_config()
        config["no_decay_names"] = self.no_decay_names
        return config
