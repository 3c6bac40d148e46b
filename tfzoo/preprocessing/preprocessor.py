"""Base classes of the task preprocessors: a tokenizer and a packer, and
the same with label names."""

import keras

from tfzoo.preprocessing.label_encoder import LabelEncoder
from tfzoo.preprocessing.multi_segment_packer import MultiSegmentPacker


class Preprocessor(keras.layers.Layer):
    """Holds a WordPiece tokenizer and a `[CLS] … [SEP]` packer.

    Subclasses implement `call(x, y=None, sample_weight=None)` and add
    their own arguments to `get_config`. Preprocessors run in `tf.data`
    (and in exported serving graphs), not inside the XLA training step.
    """

    def __init__(self, tokenizer, sequence_length=128, **kwargs):
        super().__init__(**kwargs)
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length
        self.packer = MultiSegmentPacker(
            sequence_length,
            start_id=tokenizer.cls_token_id,
            end_id=tokenizer.sep_token_id,
            pad_id=tokenizer.pad_token_id,
        )
        self.built = True

    def __call__(self, x, y=None, sample_weight=None):
        # Ragged and string inputs bypass Keras' tensor conversion.
        return self.call(x, y, sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tokenizer": keras.layers.serialize(self.tokenizer),
                "sequence_length": self.sequence_length,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["tokenizer"] = keras.layers.deserialize(config["tokenizer"])
        return cls(**config)


class LabeledPreprocessor(Preprocessor):
    """A `Preprocessor` whose labels are names (`label_names`), encoded to
    class ids by `self.label_encoder`; None keeps integer labels."""

    def __init__(
        self, tokenizer, sequence_length=128, label_names=None, **kwargs
    ):
        super().__init__(tokenizer, sequence_length, **kwargs)
        self.label_names = None if label_names is None else list(label_names)
        self.label_encoder = LabelEncoder(self.label_names)

    def get_config(self):
        config = super().get_config()
        config["label_names"] = self.label_names
        return config
