"""Raw text (and labels) to BertClassifier inputs."""

import keras
import tensorflow as tf

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
        self._label_table = None
        if self.label_names is not None:
            self._label_table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    [str(name) for name in self.label_names],
                    tf.range(len(self.label_names), dtype=tf.int32),
                ),
                default_value=-1,
            )
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
            y = self.encode_labels(y)
        return keras.utils.pack_x_y_sample_weight(features, y, sample_weight)

    def encode_labels(self, y):
        """Label names or ids to int32 ids, checked against the label set."""
        y = tf.convert_to_tensor(y)
        if y.dtype == tf.string:
            if self._label_table is None:
                raise ValueError(
                    "Got string labels but no label_names; pass "
                    "label_names=[...] to the preprocessor."
                )
            ids = self._label_table.lookup(y)
            check = tf.debugging.Assert(
                tf.reduce_all(ids >= 0),
                [
                    "Unknown label(s):",
                    tf.boolean_mask(y, ids < 0),
                    f"Known labels: {self.label_names}",
                ],
                summarize=5,
            )
        else:
            ids = tf.cast(y, "int32")
            if self.label_names is None:
                return ids
            count = len(self.label_names)
            check = tf.debugging.Assert(
                tf.reduce_all((ids >= 0) & (ids < count)),
                [
                    f"Label id(s) outside [0, {count}):",
                    tf.boolean_mask(ids, (ids < 0) | (ids >= count)),
                ],
                summarize=5,
            )
        with tf.control_dependencies([check]):
            return tf.identity(ids)

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
