"""BERT's basic tokenization: raw text to words, with TensorFlow ops.

It follows BERT's reference tokenizer: control characters are removed,
whitespace separates words, every punctuation mark and every CJK ideograph
is a word of its own, and uncased models lowercase and strip accents.
"""

import re

import tensorflow as tf
import tensorflow_text as tf_text

# Removed: NUL, the replacement character, and every "C*" category
# character except tab, newline and carriage return.
CONTROL_PATTERN = r"[\x{0}\x{FFFD}]|[^\P{C}\t\n\r]"
# Become a plain space first: tab, newline, carriage return, "Zs" spaces.
WHITESPACE_PATTERN = r"[\t\n\r\p{Zs}]"
# Separate words (and are dropped): any remaining separator.
SEPARATOR_PATTERN = r"[\p{Z}]+"
# ASCII symbols count as punctuation too, as in BERT.
PUNCTUATION_PATTERN = r"[!-/:-@\[-`{-~\p{P}]"
CJK_PATTERN = (
    r"[\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}"
    r"\x{2A700}-\x{2B73F}\x{2B740}-\x{2B81F}\x{2B820}-\x{2CEAF}"
    r"\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]"
)
ACCENT_PATTERN = r"\p{Mn}"


def kept_word_pattern(special_tokens):
    """Special tokens, punctuation and CJK: each becomes its own word."""
    specials = "|".join(re.escape(token) for token in special_tokens)
    parts = [PUNCTUATION_PATTERN, CJK_PATTERN]
    if specials:
        parts.insert(0, specials)
    return "|".join(parts)


def bert_basic_tokenize(
    text, lowercase=True, strip_accents=None, special_tokens=()
):
    """Splits a string tensor into a ragged tensor of normalised words.

    Special tokens written in the text stay whole and unchanged.

    Example:

    >>> bert_basic_tokenize(["Héllo, wörld!"]).to_list()
    [[b'hello', b',', b'world', b'!']]
    """
    strip_accents = lowercase if strip_accents is None else strip_accents
    kept = kept_word_pattern(special_tokens)
    text = tf.strings.regex_replace(text, CONTROL_PATTERN, "")
    text = tf.strings.regex_replace(text, WHITESPACE_PATTERN, " ")
    words = tf_text.regex_split(
        text,
        delim_regex_pattern=f"{SEPARATOR_PATTERN}|{kept}",
        keep_delim_regex_pattern=kept,
    )
    specials = tf.constant(list(special_tokens) or [""])

    def normalize(flat_words):
        normalized = flat_words
        if lowercase:
            normalized = tf.strings.lower(normalized, encoding="utf-8")
        if strip_accents:
            normalized = tf_text.normalize_utf8(normalized, "NFD")
            normalized = tf.strings.regex_replace(
                normalized, ACCENT_PATTERN, ""
            )
        if not special_tokens:
            return normalized
        is_special = tf.reduce_any(
            tf.equal(flat_words[:, None], specials[None, :]), axis=1
        )
        return tf.where(is_special, flat_words, normalized)

    words = tf.ragged.map_flat_values(normalize, words)
    # A word made only of accents is empty now; BERT drops it.
    return tf.ragged.boolean_mask(words, tf.strings.length(words) > 0)


def bert_basic_tokenize_with_offsets(
    text, lowercase=True, strip_accents=None, special_tokens=()
):
    """Like `bert_basic_tokenize`, plus each word's byte span in `text`.

    Returns `(words, starts, ends)`, ragged, with byte offsets into the
    original text. Here control characters separate words instead of being
    deleted, so a word with a control character inside (rare) splits where
    `bert_basic_tokenize` would join it.

    Example:

    >>> words, starts, ends = bert_basic_tokenize_with_offsets(["Hi, yo"])
    >>> words.to_list(), starts.to_list(), ends.to_list()
    ([[b'hi', b',', b'yo']], [[0, 2, 4]], [[2, 3, 6]])
    """
    strip_accents = lowercase if strip_accents is None else strip_accents
    kept = kept_word_pattern(special_tokens)
    separators = (
        f"{SEPARATOR_PATTERN}|{WHITESPACE_PATTERN}+|(?:{CONTROL_PATTERN})+"
    )
    # tf-text's regex split stops at a NUL byte; a space (also one byte,
    # also a separator here) keeps the words after it and every offset.
    text = tf.strings.regex_replace(text, r"\x00", " ")
    words, starts, ends = tf_text.regex_split_with_offsets(
        text,
        delim_regex_pattern=f"{separators}|{kept}",
        keep_delim_regex_pattern=kept,
    )
    normalized = bert_basic_tokenize(
        words.flat_values, lowercase, strip_accents, special_tokens
    )
    # Each raw word normalises to at most one word; an empty result (only
    # accents) is dropped, as in `bert_basic_tokenize`.
    flat = tf.strings.reduce_join(normalized, axis=-1)
    keep = tf.strings.length(flat) > 0
    words = words.with_flat_values(flat)
    return (
        tf.ragged.boolean_mask(words, words.with_flat_values(keep)),
        tf.ragged.boolean_mask(starts, starts.with_flat_values(keep)),
        tf.ragged.boolean_mask(ends, ends.with_flat_values(keep)),
    )
