"""The base of tfzoo's tokenizers: a Keras layer from strings to ids."""

import keras
import tensorflow as tf


class Tokenizer(keras.layers.Layer):
    """Strings in, ragged int32 ids out, in the graph or eagerly.

    Subclasses implement `tokenize(text)`, `detokenize(ids)` and the
    `vocabulary_size` property (the number of ids); calling the layer
    tokenizes.

    >>> from tfzoo.tokenizers import WordPieceTokenizer
    >>> tokenizer = WordPieceTokenizer(
    ...     ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"])
    >>> tokenizer(["hi there"]).to_list(), tokenizer.vocabulary_size
    ([[5, 1]], 6)
    """

    @property
    def vocabulary_size(self):
        raise NotImplementedError

    def tokenize(self, text):
        raise NotImplementedError

    def detokenize(self, ids):
        raise NotImplementedError

    def __call__(self, text, **kwargs):
        if not isinstance(text, keras.KerasTensor):
            text = tf.convert_to_tensor(text)
        return super().__call__(text, **kwargs)

    def call(self, text):
        return self.tokenize(text)

    def compute_output_spec(self, text):
        return keras.KerasTensor(
            tuple(text.shape) + (None,), dtype="int32", ragged=True
        )
