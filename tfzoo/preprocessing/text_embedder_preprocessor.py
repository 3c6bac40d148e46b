"""Raw texts, or columns of texts (anchor, positive, negative), to
TextEmbedder inputs."""

import keras
import tensorflow as tf

from tfzoo.preprocessing.preprocessor import Preprocessor

# Training columns, and the names a `(texts, texts_pair)` tuple or
# sentence-pair files give them.
COLUMNS = ("anchor", "positive", "negative")
COLUMN_ALIASES = {"text": "anchor", "text_pair": "positive"}


def text_columns(x):
    """`x` (a dict of string batches) with its keys made canonical."""
    columns = {}
    for key, texts in x.items():
        name = COLUMN_ALIASES.get(key, key)
        if name not in COLUMNS or name in columns:
            raise ValueError(
                f"Text columns are {list(COLUMNS)} (or 'text' and "
                f"'text_pair' for anchor and positive); got {sorted(x)}."
            )
        columns[name] = texts
    if "anchor" not in columns or "positive" not in columns:
        raise ValueError(
            f"Training pairs need an 'anchor' and a 'positive' column (or "
            f"'text' and 'text_pair'); got {sorted(x)}."
        )
    return columns


@keras.saving.register_keras_serializable(package="tfzoo")
class TextEmbedderPreprocessor(Preprocessor):
    """Tokenizes and packs texts one by one (no pairs in one input).

    `preprocessor(texts)` gives the model's input dict. For training,
    `preprocessor({"anchor": ..., "positive": ..., "negative": ...}, y)`
    gives one input dict per column (`negative` is optional; `text` and
    `text_pair` name anchor and positive). `y`, when given, is a float
    similarity score per pair (for the cosine loss) and passes through as
    float32. Texts longer than `sequence_length` tokens (with `[CLS]` and
    `[SEP]`) are cut, as sentence-transformers' `max_seq_length` does.

    Example:

    >>> from tfzoo.tokenizers import WordPieceTokenizer
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...               "a", "cat", "sat"]
    >>> preprocessor = TextEmbedderPreprocessor(
    ...     WordPieceTokenizer(vocabulary), sequence_length=5)
    >>> preprocessor(["A cat sat"])["token_ids"].numpy().tolist()
    [[2, 5, 6, 7, 3]]
    >>> x = preprocessor({"text": ["a cat"], "text_pair": ["cat"]})
    >>> sorted(x), x["positive"]["token_ids"].numpy().tolist()
    (['anchor', 'positive'], [[2, 6, 3, 0, 0]])
    """

    def pack(self, texts):
        """One string batch to `token_ids`, `segment_ids`, `padding_mask`."""
        return self.packer([self.tokenizer.tokenize(tf.convert_to_tensor(
            texts))])

    def call(self, x, y=None, sample_weight=None):
        if isinstance(x, dict):
            features = {
                name: self.pack(texts)
                for name, texts in text_columns(x).items()
            }
        else:
            features = self.pack(x)
        if y is not None:
            y = tf.cast(y, "float32")
        return keras.utils.pack_x_y_sample_weight(features, y, sample_weight)
