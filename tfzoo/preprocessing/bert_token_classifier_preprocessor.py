"""Words and word labels to BertTokenClassifier inputs, and back."""

import keras
import tensorflow as tf

from tfzoo.preprocessing.bert_question_answerer_preprocessor import (
    characters_before,
)
from tfzoo.preprocessing.preprocessor import LabeledPreprocessor
from tfzoo.tokenizers.bert_basic_tokenizer import (
    bert_basic_tokenize_with_offsets,
)
from tfzoo.tokenizers.word_piece_tokenizer import (
    WordPieceTokenizer,
    check_utf8,
)

IGNORE_LABEL = -100


@keras.saving.register_keras_serializable(package="tfzoo")
class BertTokenClassifierPreprocessor(LabeledPreprocessor):
    """Tokenizes pre-split words and aligns word labels to tokens.

    Call it as `preprocessor(words, labels=None)` with ragged string words
    `[batch, num_words]` (or a dict with `tokens`) and word labels of the
    same shape (names, or ids). Each word's label goes to its first
    sub-token; later sub-tokens, `[CLS]`, `[SEP]` and padding get -100,
    which the model's loss and accuracy ignore. A word whose tokens fall
    past `sequence_length` is cut off; `word_ids` tells which words made
    it, and `word_predictions` maps token predictions back to words.
    `split_text` splits raw text into words, with their character spans.

    Example:

    >>> import tensorflow as tf
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...               "anna", "visit", "##ed", "oslo"]
    >>> preprocessor = BertTokenClassifierPreprocessor(
    ...     WordPieceTokenizer(vocabulary), sequence_length=8,
    ...     label_names=["O", "B-PER", "B-LOC"],
    ... )
    >>> words = tf.ragged.constant([["Anna", "visited", "Oslo"]])
    >>> x, y = preprocessor(words, tf.ragged.constant([["B-PER", "O", "B-LOC"]]))
    >>> x["token_ids"].numpy().tolist(), y.numpy().tolist()
    ([[2, 5, 6, 7, 8, 3, 0, 0]], [[-100, 1, 0, -100, 2, -100, -100, -100]])
    """

    word_piece_only = "it maps words to their first WordPiece"

    def call(self, x, y=None, sample_weight=None):
        tokens, first_piece_word_ids = self._tokenize_words(x)
        features = self.packer(tokens)
        if y is None:
            return features
        word_ids = self._pack_word_ids(first_piece_word_ids)
        labels = self.label_encoder(_as_ragged(y))
        dense_labels = labels.to_tensor(default_value=0)
        token_labels = tf.gather(
            dense_labels, tf.maximum(word_ids, 0), batch_dims=1
        )
        token_labels = tf.where(word_ids >= 0, token_labels, IGNORE_LABEL)
        return keras.utils.pack_x_y_sample_weight(
            features, token_labels, sample_weight
        )

    def word_ids(self, x):
        """`[batch, sequence_length]`: the word index at each word's first
        token, -1 at every other position."""
        _, first_piece_word_ids = self._tokenize_words(x)
        return self._pack_word_ids(first_piece_word_ids)

    def features_and_word_ids(self, x):
        """`(self(x), self.word_ids(x))`, tokenizing `x` once."""
        tokens, first_piece_word_ids = self._tokenize_words(x)
        return self.packer(tokens), self._pack_word_ids(first_piece_word_ids)

    def word_logits(self, token_logits, word_ids):
        """Each word's logits, at its first token: ragged
        `[batch, words, num_classes]`.

        Words cut off by `sequence_length` are missing from the end.
        """
        return tf.ragged.boolean_mask(token_logits, word_ids >= 0)

    def word_predictions(self, token_logits, word_ids):
        """Per-word label ids (ragged) from token logits and `word_ids`.

        Words cut off by `sequence_length` are missing from the end.
        """
        return tf.ragged.map_flat_values(
            tf.argmax, self.word_logits(token_logits, word_ids), axis=-1,
            output_type=tf.int32,
        )

    def split_text(self, text):
        """Raw text `[batch]` to words, split as the tokenizer splits them.

        Words end at whitespace and punctuation, each punctuation mark and
        CJK character is a word, and characters the tokenizer drops are
        dropped. Returns ragged `(words, starts, ends)`: each word as
        written (case and accents kept) and its span in characters (code
        points), so that in Python `text[start:end] == word`.

        Example:

        >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        >>> preprocessor = BertTokenClassifierPreprocessor(
        ...     WordPieceTokenizer(vocabulary))
        >>> words, starts, ends = preprocessor.split_text(["Café, Oslo!"])
        >>> [w.decode() for w in words[0].numpy()]
        ['Café', ',', 'Oslo', '!']
        >>> starts.to_list(), ends.to_list()
        ([[0, 4, 6, 10]], [[4, 5, 10, 11]])
        """
        text = check_utf8(tf.convert_to_tensor(text))
        tokenizer = self.tokenizer
        _, byte_starts, byte_ends = bert_basic_tokenize_with_offsets(
            text, tokenizer.lowercase, tokenizer.strip_accents,
            tokenizer.special_tokens,
        )
        word_text = tf.gather(text, byte_starts.value_rowids())
        starts, ends = byte_starts.flat_values, byte_ends.flat_values
        words = tf.strings.substr(word_text, starts, ends - starts)

        def characters(byte_offsets):
            return characters_before(word_text, byte_offsets[:, None])[:, 0]

        return (
            byte_starts.with_flat_values(words),
            byte_starts.with_flat_values(characters(starts)),
            byte_starts.with_flat_values(characters(ends)),
        )

    def _tokenize_words(self, x):
        words = _as_ragged(x["tokens"] if isinstance(x, dict) else x)
        pieces = self.tokenizer.tokenize(words.flat_values)
        # A word with no tokens (e.g. only control characters) becomes
        # [UNK], so that every word keeps its label.
        empty = tf.cast(tf.equal(pieces.row_lengths(), 0), "int64")
        unknown = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.reduce_sum(empty)], self.tokenizer.unk_token_id),
            empty,
        )
        pieces = tf.concat([pieces, unknown], axis=1)
        piece_counts = pieces.row_lengths()
        word_index = tf.ragged.range(words.row_lengths()).flat_values
        piece_word_index = tf.repeat(tf.cast(word_index, "int32"),
                                     piece_counts)
        is_first = tf.equal(tf.ragged.range(piece_counts).flat_values, 0)
        tokens = words.with_flat_values(pieces).merge_dims(1, 2)
        first_piece_word_ids = tokens.with_flat_values(
            tf.where(is_first, piece_word_index, -1)
        )
        return tokens, first_piece_word_ids

    def _pack_word_ids(self, first_piece_word_ids):
        kept = first_piece_word_ids[:, : self.sequence_length - 2]
        edge = tf.fill([kept.nrows(), 1], -1)
        framed = tf.concat([edge, kept, edge], axis=1)
        return framed.to_tensor(
            default_value=-1, shape=[None, self.sequence_length]
        )


def _as_ragged(values):
    if isinstance(values, tf.RaggedTensor):
        return values
    if isinstance(values, (list, tuple)):
        return tf.ragged.constant(values)
    return tf.RaggedTensor.from_tensor(tf.convert_to_tensor(values))
