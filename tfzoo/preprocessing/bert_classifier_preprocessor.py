"""Raw text (and labels) to BertClassifier inputs."""

import keras
import tensorflow as tf

from tfzoo.preprocessing.label_encoder import LabelEncoder
from tfzoo.preprocessing.multi_segment_packer import MultiSegmentPacker
from tfzoo.tokenizers.word_piece_tokenizer import WordPieceTokenizer


def split_text_inputs(x):
    """Returns a list of one or two string tensors from `x`.

    `x` is a string batch, a `(text, text_pair)` pair, or a dict with
    `text` and optionally `text_pair`.
    """
    if isinstance(x, dict):
        unknown = sorted(set(x) - {"text", "text_pair"})
        if "text" not in x or unknown:
            raise ValueError(
                f"Text inputs as a dict need the key 'text' (and optionally "
                f"'text_pair'); got keys {sorted(x)}."
            )
        return [x["text"]] + ([x["text_pair"]] if "text_pair" in x else [])
    if isinstance(x, (tuple, list)) and len(x) == 2:
        return list(x)
    return [x]


@keras.saving.register_keras_serializable(package="tfzoo")
class BertClassifierPreprocessor(keras.layers.Layer):
    """Tokenizes and packs a text or a text pair, and encodes labels.

    Call it as `preprocessor(x, y=None, sample_weight=None)`. `x` is a
    string batch, a `(text, text_pair)` pair, or a dict with `text` and
    `text_pair`. Labels are ids in `[0, len(label_names))`, or label names
    when `label_names` is given. Returns `x` (the model's input dict), or
    `(x, y)` / `(x, y, sample_weight)` when labels are given. A label
    outside the label set fails with an error naming it.

    Example:

    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...               "good", "bad", "film"]
    >>> preprocessor = BertClassifierPreprocessor(
    ...     WordPieceTokenizer(vocabulary), sequence_length=6,
    ...     label_names=["negative", "positive"],
    ... )
    >>> x, y = preprocessor(["Good film"], ["positive"])
    >>> x["token_ids"].numpy().tolist(), y.numpy().tolist()
    ([[2, 5, 7, 3, 0, 0]], [1])
    """

    def __init__(
        self, tokenizer, sequence_length=128, label_names=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length
        self.label_names = None if label_names is None else list(label_names)
        self.packer = MultiSegmentPacker(
            sequence_length,
            start_id=tokenizer.cls_token_id,
            end_id=tokenizer.sep_token_id,
            pad_id=tokenizer.pad_token_id,
        )
        self.label_encoder = LabelEncoder(self.label_names)
        self.built = True

    def __call__(self, x, y=None, sample_weight=None):
        return self.call(x, y, sample_weight)

    def call(self, x, y=None, sample_weight=None):
        segments = [
            self.tokenizer.tokenize(tf.convert_to_tensor(text))
            for text in split_text_inputs(x)
        ]
        features = self.packer(segments)
        if y is not None:
            y = self.label_encoder(y)
        return keras.utils.pack_x_y_sample_weight(features, y, sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tokenizer": keras.layers.serialize(self.tokenizer),
                "sequence_length": self.sequence_length,
                "label_names": self.label_names,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["tokenizer"] = keras.layers.deserialize(config["tokenizer"])
        return cls(**config)
