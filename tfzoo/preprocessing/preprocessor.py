"""Base classes of the task preprocessors: a tokenizer and a packer, and
the same with label names."""

import keras

from tfzoo.preprocessing.label_encoder import LabelEncoder
from tfzoo.preprocessing.multi_segment_packer import MultiSegmentPacker
from tfzoo.tokenizers.word_piece_tokenizer import WordPieceTokenizer


class Preprocessor(keras.layers.Layer):
    """Holds a tokenizer and a packer in the tokenizer's own pattern
    (`tokenizer.packing`): BERT's `[CLS] a [SEP] b [SEP]`, RoBERTa's
    `<s> a </s></s> b </s>`.

    Subclasses implement `call(x, y=None, sample_weight=None)` and add
    their own arguments to `get_config`. Preprocessors run in `tf.data`
    (and in exported serving graphs), not inside the XLA training step.
    A subclass that relies on WordPiece sets `word_piece_only` to the
    reason, and refuses other tokenizers with it.
    """

    word_piece_only = None

    def __init__(self, tokenizer, sequence_length=128, **kwargs):
        super().__init__(**kwargs)
        if self.word_piece_only and not isinstance(
                tokenizer, WordPieceTokenizer):
            raise NotImplementedError(
                f"{type(self).__name__} needs a WordPieceTokenizer "
                f"({self.word_piece_only}); got a "
                f"{type(tokenizer).__name__}. Byte-level BPE (RoBERTa) takes "
                f"raw text through BertClassifierPreprocessor and "
                f"TextEmbedderPreprocessor so far; feed token ids here."
            )
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length
        packing = getattr(tokenizer, "packing", None)
        if packing is None:
            raise ValueError(
                f"{type(self).__name__} packs segments between a model's "
                f"start and end tokens; the {type(tokenizer).__name__} has "
                f"none (a BytePairTokenizer needs packing_tokens, e.g. "
                f"RoBERTa's <s> and </s>)."
            )
        self.packer = MultiSegmentPacker.from_packing(
            packing, sequence_length)
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
