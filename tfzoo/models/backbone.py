"""Base class of the backbones: presets, config and input checks."""

import keras

from tfzoo.models import input_checks, registry


class Backbone(keras.Model):
    """A functional Keras model that maps token inputs to hidden states.

    Subclasses build their layers and functional graph in `__init__`, list
    their constructor arguments in `get_config`, name their inputs in
    `input_keys`, and fill `presets`, a dict from preset name to
    constructor arguments.
    """

    presets = {}
    input_keys = ()  # e.g. ("token_ids", "padding_mask")

    @classmethod
    def from_preset(cls, preset, **overrides):
        """Builds a randomly initialised backbone from a named preset.

        Keyword arguments override the preset's config, e.g.
        `vocabulary_size=8000` for a smaller vocabulary.
        """
        if preset not in cls.presets:
            raise ValueError(
                f"Unknown {cls.__name__} preset {preset!r}. Available: "
                f"{sorted(cls.presets)}."
            )
        return cls(**{**cls.presets[preset], **overrides})

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        """Loads a Hugging Face checkpoint directory (or hub id); see
        `tfzoo.convert.from_pretrained`."""
        return registry.pretrained_io("load_backbone")(cls, path, **kwargs)

    def save_pretrained(self, directory, **kwargs):
        """Writes a Hugging Face checkpoint; see `tfzoo.convert`."""
        registry.pretrained_io("save_pretrained")(self, directory, **kwargs)

    def check_inputs(self, inputs):
        """Raises a clear error for wrong keys, lengths or token ids."""
        input_checks.check_input_keys(
            type(self).__name__, inputs, self.input_keys
        )
        token_ids = inputs["token_ids"]
        input_checks.check_sequence_length(
            type(self).__name__, token_ids, self.max_sequence_length
        )
        input_checks.check_token_ids(
            type(self).__name__, token_ids, self.vocabulary_size
        )

    def __call__(self, inputs, *args, **kwargs):
        self.check_inputs(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
