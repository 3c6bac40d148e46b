"""Raw text (and labels) to BertClassifier inputs."""

import keras
import tensorflow as tf

from tfzoo.preprocessing.preprocessor import LabeledPreprocessor
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
class BertClassifierPreprocessor(LabeledPreprocessor):
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

    def call(self, x, y=None, sample_weight=None):
        segments = [
            self.tokenizer.tokenize(tf.convert_to_tensor(text))
            for text in split_text_inputs(x)
        ]
        features = self.packer(segments)
        if y is not None:
            y = self.label_encoder(y)
        return keras.utils.pack_x_y_sample_weight(features, y, sample_weight)
