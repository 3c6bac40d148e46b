"""BERT's WordPiece tokenizer, in-graph with TensorFlow and tf-text ops."""

import os

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from tfzoo.tokenizers.bert_basic_tokenizer import (
    bert_basic_tokenize,
    bert_basic_tokenize_with_offsets,
)
from tfzoo.tokenizers.vocabulary_lookup import id_of_token, token_of_id
from tfzoo.tokenizers.tokenizer import Packing, Tokenizer

BERT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def load_vocabulary(vocabulary):
    """Returns the vocabulary as a list from a list or a `vocab.txt` path."""
    if isinstance(vocabulary, (str, os.PathLike)):
        path = os.fspath(vocabulary)
        if not os.path.exists(path):
            raise FileNotFoundError(f"Vocabulary file {path!r} not found.")
        with open(path, encoding="utf-8") as file:
            vocabulary = [line.rstrip("\n").rstrip("\r") for line in file]
        while vocabulary and vocabulary[-1] == "":
            vocabulary.pop()
    vocabulary = list(vocabulary)
    if not vocabulary:
        raise ValueError("The vocabulary is empty.")
    seen = set()
    for index, token in enumerate(vocabulary):
        if token in seen:
            raise ValueError(
                f"The vocabulary lists {token!r} twice (again at line "
                f"{index + 1}); every token must be unique."
            )
        seen.add(token)
    return vocabulary


def check_utf8(text):
    """Returns `text`, failing with a clear error if it is not UTF-8."""
    repaired = tf.strings.unicode_transcode(
        text, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    bad = tf.not_equal(repaired, text)
    check = tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(bad)),
        [
            "Text is not valid UTF-8; decode or clean it before "
            "tokenizing. First bad text (bad bytes shown as U+FFFD):",
            # Repaired: raw bad bytes would make the error message itself
            # undecodable when raised from a graph (tf.function, tf.data).
            tf.boolean_mask(repaired, bad)[:1],
        ],
    )
    with tf.control_dependencies([check]):
        return tf.identity(text)


@keras.saving.register_keras_serializable(package="tfzoo")
class WordPieceTokenizer(Tokenizer):
    """Splits text into WordPiece ids exactly as BERT's tokenizer does.

    Runs in the graph (tf.data, `tf.function`, exported SavedModels) with
    TensorFlow and tf-text ops only. Basic tokenization first: control
    characters are removed, text splits on whitespace and punctuation, each
    CJK ideograph is a word, and special tokens such as `[MASK]` written in
    the text stay whole. With `lowercase=True` (uncased models) words are
    lowercased and accents stripped. Then each word becomes the longest
    matching vocabulary pieces (`##` marks a continuation); a word with no
    match, or longer than `max_chars_per_word`, becomes `[UNK]`.

    Args:
        vocabulary: a `vocab.txt` path or a list of tokens, one id each.
        lowercase: lowercase the text (uncased models).
        strip_accents: strip accents; defaults to `lowercase`.
        special_tokens: tokens that must be in the vocabulary and are kept
            whole in the text. BERT's by default.
        max_chars_per_word: longer words become `[UNK]`.

    Example:

    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...               "the", "play", "##ing", "!"]
    >>> tokenizer = WordPieceTokenizer(vocabulary)
    >>> tokenizer(["The playing!"]).to_list()
    [[5, 6, 7, 8]]
    >>> tokenizer.detokenize([[5, 6, 7, 8]]).numpy()
    array([b'the playing !'], dtype=object)
    """

    def __init__(
        self,
        vocabulary,
        lowercase=True,
        strip_accents=None,
        special_tokens=BERT_SPECIAL_TOKENS,
        max_chars_per_word=100,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        self.vocabulary = load_vocabulary(vocabulary)
        self.lowercase = lowercase
        self.strip_accents = lowercase if strip_accents is None else strip_accents
        self.special_tokens = list(special_tokens)
        self.max_chars_per_word = max_chars_per_word
        missing = [t for t in self.special_tokens if t not in self.vocabulary]
        if missing:
            raise ValueError(
                f"The vocabulary lacks the special tokens {missing}. Add them "
                f"(BERT vocabularies start with {list(BERT_SPECIAL_TOKENS)})."
            )
        self._token_to_id = {t: i for i, t in enumerate(self.vocabulary)}
        for token in self.special_tokens:
            name = token.strip("[]<>").lower()
            setattr(self, f"{name}_token_id", self._token_to_id[token])
        self.unknown_token = "[UNK]" if "[UNK]" in self.special_tokens else (
            self.special_tokens[1]
        )
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=self.vocabulary,
            suffix_indicator="##",
            max_bytes_per_word=4 * max_chars_per_word,
            token_out_type=tf.int32,
            unknown_token=self.unknown_token,
            no_pretokenization=True,
        )
        self._vocabulary_tensor = tf.constant(self.vocabulary)
        self.built = True

    # ------------------------------------------------------------ lookup --

    @property
    def packing(self):
        """`[CLS] a [SEP] b [SEP]` with segment ids, padded with `[PAD]`."""
        ids = [getattr(self, f"{r}_token_id", None)
               for r in ("cls", "sep", "pad")]
        if None in ids:
            return None
        return Packing(*ids)


    @property
    def vocabulary_size(self):
        """The number of ids."""
        return len(self.vocabulary)

    def get_vocabulary(self):
        return list(self.vocabulary)

    def token_to_id(self, token):
        return id_of_token(self._token_to_id, token)

    def id_to_token(self, token_id):
        return token_of_id(self.vocabulary, token_id)

    # ---------------------------------------------------------- tokenize --

    def split_words(self, text):
        """Basic tokenization: a string tensor to a ragged tensor of words.

        Words longer than `max_chars_per_word` are replaced by `[UNK]`.
        """
        words = bert_basic_tokenize(
            text, self.lowercase, self.strip_accents, self.special_tokens
        )
        return tf.ragged.map_flat_values(self._unknown_if_too_long, words)

    def _unknown_if_too_long(self, words):
        """`[UNK]` in place of words over `max_chars_per_word` characters."""
        too_long = (
            tf.strings.length(words, unit="UTF8_CHAR")
            > self.max_chars_per_word
        )
        return tf.where(too_long, self.unknown_token, words)

    def tokenize(self, text):
        """Strings `[batch]` (or a scalar) to ragged int32 ids."""
        text = tf.convert_to_tensor(text)
        if text.dtype != tf.string:
            raise TypeError(
                f"{type(self).__name__} takes strings, got {text.dtype}."
            )
        scalar = text.shape.rank == 0
        if scalar:
            text = text[None]
        text = check_utf8(text)
        words = self.split_words(text)
        pieces = self._wordpiece.tokenize(words.flat_values)
        ids = words.with_flat_values(pieces).merge_dims(-2, -1)
        return ids[0] if scalar else ids

    def tokenize_with_offsets(self, text):
        """Ids plus each token's byte span `[start, end)` in the text.

        Returns ragged `(ids, starts, ends)` for a string batch. A token
        inside a word whose normalised form changed length (e.g. stripped
        accents) gets clamped offsets; the word's first token starts at the
        word's start and its last token ends at the word's end.
        """
        text = check_utf8(tf.convert_to_tensor(text))
        words, word_starts, word_ends = bert_basic_tokenize_with_offsets(
            text, self.lowercase, self.strip_accents, self.special_tokens
        )
        pieces, piece_starts, piece_ends = (
            self._wordpiece.tokenize_with_offsets(
                self._unknown_if_too_long(words.flat_values)
            )
        )
        word_start = tf.cast(word_starts.flat_values, "int64")
        word_end = tf.cast(word_ends.flat_values, "int64")
        word_length = (word_end - word_start)[:, None]
        starts = word_start[:, None] + tf.minimum(
            tf.cast(piece_starts, "int64"), word_length
        )
        ends = word_start[:, None] + tf.minimum(
            tf.cast(piece_ends, "int64"), word_length
        )
        # The first piece starts at the word start, the last ends at its end.
        is_last = tf.equal(
            tf.ragged.range(pieces.row_lengths()),
            pieces.row_lengths()[:, None] - 1,
        )
        starts = tf.where(
            tf.equal(tf.ragged.range(pieces.row_lengths()), 0),
            word_start[:, None] + tf.zeros_like(starts), starts,
        )
        ends = tf.where(is_last, word_end[:, None] + tf.zeros_like(ends), ends)

        def regroup(values):
            return words.with_flat_values(values).merge_dims(-2, -1)

        return regroup(pieces), regroup(starts), regroup(ends)

    def detokenize(self, ids):
        """Ids (dense or ragged) to strings; `##` pieces join their word."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ids))
        tokens = tf.gather(self._vocabulary_tensor, ids)
        keep = tf.not_equal(ids, self.pad_token_id)
        tokens = tf.ragged.boolean_mask(tokens, keep)
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        return tf.strings.regex_replace(text, " ##", "")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": self.vocabulary,
                "lowercase": self.lowercase,
                "strip_accents": self.strip_accents,
                "special_tokens": self.special_tokens,
                "max_chars_per_word": self.max_chars_per_word,
            }
        )
        return config
