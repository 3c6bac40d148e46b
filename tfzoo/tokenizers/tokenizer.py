"""The base of tfzoo's tokenizers: a Keras layer from strings to ids."""

import dataclasses

import keras
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Packing:
    """How a model's inputs wrap one or two token segments, as ids.

    One segment is `start a end`; two are `start a end pair_start b end`,
    padded with `pad_id`. With `segment_ids`, the second segment (from
    `pair_start` on) has segment id 1; without (RoBERTa has one token
    type), every segment id is 0. BERT: `[CLS] a [SEP] b [SEP]`, segment
    ids; RoBERTa: `<s> a </s></s> b </s>` (`pair_start_ids` is the second
    `</s>`), no segment ids.
    """

    start_id: int
    end_id: int
    pad_id: int
    pair_start_ids: tuple = ()
    segment_ids: bool = True


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

    @property
    def packing(self):
        """The tokenizer's `Packing` of segments into model inputs, or
        None when it has no start/end tokens (e.g. GPT-2's)."""
        return None

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
