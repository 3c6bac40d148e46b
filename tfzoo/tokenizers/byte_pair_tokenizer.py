"""GPT-2's byte-level BPE tokenizer, in-graph with TensorFlow and tf-text ops.

The text is cut into words with GPT-2's pre-tokenizer pattern
(contractions, letters, numbers, other symbols and whitespace, each with an
optional leading space), each word's UTF-8 bytes become byte tokens, and
adjacent tokens merge by BPE rank until no ranked pair is left.

GPT-2's pattern ends with `\\s+(?!\\S)`, a negative lookahead that RE2 (and so
TensorFlow) lacks. It only matters for a whitespace run followed by a
non-space character: the run's last character belongs to the next word.
Cutting the text just before every whitespace character that precedes a
non-space character, then matching the pattern without the lookahead on
each piece, gives exactly GPT-2's words (no word ever crosses such a cut).
The cuts are a byte that never occurs in UTF-8 text, so RE2 never matches
across one, and a single split separates the words.

Character classes equal those of Hugging Face's tokenizers (Oniguruma) on
every code point; Unicode 16 letters and numbers, newer than TensorFlow's
RE2 tables, are listed explicitly. Merges follow GPT-2's own algorithm: in
each word, all left-to-right occurrences of its best-ranked pair at once.
"""

import json
import os

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from tfzoo.tokenizers.word_piece_tokenizer import check_utf8
from tfzoo.tokenizers.vocabulary_lookup import id_of_token, token_of_id
from tfzoo.tokenizers.tokenizer import Packing, Tokenizer

END_OF_TEXT = "<|endoftext|>"

# Python `regex` / Oniguruma `\s`: Unicode White_Space minus U+001C-U+001F.
_WHITESPACE = (
    r"\t\n\x{0b}\f\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}"
)
# Letters and numbers added in Unicode 16, which Hugging Face's tokenizers
# know and TensorFlow's RE2 tables predate; listed so both agree everywhere.
_NEW_LETTERS = (
    r"\x{1c89}-\x{1c8a}\x{a7cb}-\x{a7cd}\x{a7da}-\x{a7dc}\x{105c0}-\x{105f3}"
    r"\x{10d4a}-\x{10d65}\x{10d6f}-\x{10d85}\x{10ec2}-\x{10ec4}"
    r"\x{11380}-\x{11389}\x{1138b}\x{1138e}\x{11390}-\x{113b5}\x{113b7}"
    r"\x{113d1}\x{113d3}\x{11bc0}-\x{11be0}\x{13460}-\x{143fa}"
    r"\x{16100}-\x{1611d}\x{16d40}-\x{16d6c}\x{18cff}\x{1e5d0}-\x{1e5ed}"
    r"\x{1e5f0}\x{2ebf0}-\x{2ee5d}"
)
_NEW_NUMBERS = (
    r"\x{10d40}-\x{10d49}\x{116d0}-\x{116e3}\x{11bf0}-\x{11bf9}"
    r"\x{16130}-\x{16139}\x{16d70}-\x{16d79}\x{1ccf0}-\x{1ccf9}"
    r"\x{1e5f1}-\x{1e5fa}"
)
_LETTERS = r"\p{L}" + _NEW_LETTERS
_NUMBERS = r"\p{N}" + _NEW_NUMBERS
# GPT-2's pattern without the lookahead alternative (see the module doc).
WORD_PATTERN = (
    r"'s|'t|'re|'ve|'m|'ll|'d"
    rf"| ?[{_LETTERS}]+| ?[{_NUMBERS}]+"
    rf"| ?[^{_WHITESPACE}{_LETTERS}{_NUMBERS}]+"
    rf"|[{_WHITESPACE}]+"
)
# A whitespace character followed by a non-space one: cut before it.
_CUT_PATTERN = rf"([{_WHITESPACE}])([^{_WHITESPACE}])"
_CUT = b"\xff"  # never in valid UTF-8, which the text is checked to be


def bytes_to_unicode():
    """GPT-2's map from each byte to a printable character.

    Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to
    themselves; the other 68 bytes, in order, to U+0100, U+0101, ...
    """
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    others = [b for b in range(256) if b not in printable]
    mapping = {b: chr(b) for b in printable}
    mapping.update({b: chr(256 + i) for i, b in enumerate(others)})
    return mapping


def byte_token_order():
    """The 256 byte tokens in GPT-2's vocabulary order (printable first)."""
    return list(bytes_to_unicode().values())


def split_words(text, special_tokens=(), add_prefix_space=False,
                lstrip_tokens=()):
    """GPT-2 pre-tokenization: strings `[batch]` to ragged word bytes.

    Special tokens written in the text become words of their own; the text
    between them is split separately (as Hugging Face tokenizers do), and
    with `add_prefix_space` each such stretch that does not start with a
    space gets one. `lstrip_tokens` (special tokens too) also take the
    whitespace before them.
    """
    text = tf.convert_to_tensor(text, tf.string)
    if special_tokens:
        special_pattern = "|".join(
            (f"[{_WHITESPACE}]*" if t in lstrip_tokens else "") + _escape(t)
            for t in sorted(special_tokens, key=len, reverse=True)
        )
        segments = tf_text.regex_split(text, special_pattern, special_pattern)
        is_special = tf.strings.regex_full_match(
            segments.flat_values, special_pattern
        )
    else:
        segments = tf.RaggedTensor.from_tensor(text[:, None])
        is_special = tf.zeros_like(segments.flat_values, tf.bool)
    flat = segments.flat_values
    if lstrip_tokens:
        flat = tf.where(
            is_special,
            tf.strings.regex_replace(flat, f"^[{_WHITESPACE}]+", ""),
            flat,
        )
    if add_prefix_space:
        prefix = ~(
            is_special
            | tf.equal(tf.strings.substr(flat, 0, 1), " ")
            | tf.equal(flat, "")
        )
        flat = tf.where(prefix, tf.strings.join([" ", flat]), flat)
    # Cut before the last whitespace character of each run that precedes
    # a non-space character, then before every word; RE2 matches nothing
    # across a cut, as `_CUT` is not UTF-8.
    cut = tf.strings.regex_replace(flat, _CUT_PATTERN, _CUT + rb"\1\2")
    cut = tf.strings.regex_replace(cut, WORD_PATTERN, _CUT + rb"\0")
    words = tf.strings.split(tf.where(is_special, flat, cut), sep=_CUT)
    words = tf.ragged.boolean_mask(words, tf.strings.length(words) > 0)
    return segments.with_flat_values(words).merge_dims(-2, -1)


def _escape(token):
    """`token` as an RE2 literal."""
    return "".join(
        c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):x}}}"
        for c in token
    )


def load_vocabulary(vocabulary):
    """A `vocab.json` path or a dict to a dict token -> id.

    Ids are unique and non-negative; unused ids below the largest one are
    allowed (they detokenize to nothing).
    """
    if isinstance(vocabulary, (str, os.PathLike)):
        path = os.fspath(vocabulary)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"Vocabulary file {path!r} not found; pass a GPT-2 style "
                f"vocab.json path or a dict token -> id."
            )
        with open(path, encoding="utf-8") as file:
            vocabulary = json.load(file)
    if not isinstance(vocabulary, dict):
        raise TypeError(
            f"The vocabulary must be a vocab.json path or a dict token -> "
            f"id, got {type(vocabulary).__name__}."
        )
    vocabulary = {str(token): int(i) for token, i in vocabulary.items()}
    if not vocabulary:
        raise ValueError("The vocabulary is empty.")
    seen = {}
    for token, i in vocabulary.items():
        if i < 0:
            raise ValueError(f"The vocabulary gives {token!r} the id {i}; "
                             f"ids must be 0 or more.")
        if i in seen:
            raise ValueError(
                f"The vocabulary gives {seen[i]!r} and {token!r} the same "
                f"id {i}; every token needs its own id."
            )
        seen[i] = token
    return vocabulary


def load_merges(merges):
    """A `merges.txt` path or a list of "a b" strings to a list of pairs."""
    if isinstance(merges, (str, os.PathLike)):
        path = os.fspath(merges)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"Merges file {path!r} not found; pass a GPT-2 style "
                f"merges.txt path or a list of 'a b' strings."
            )
        with open(path, encoding="utf-8") as file:
            merges = file.read().split("\n")
        if merges and merges[0].startswith("#version"):
            merges = merges[1:]
        merges = [line.rstrip("\r") for line in merges]
        merges = [line for line in merges if line]
    pairs = []
    for index, merge in enumerate(merges):
        parts = merge.split(" ") if isinstance(merge, str) else list(merge)
        if len(parts) != 2 or not all(parts):
            raise ValueError(
                f"Merge {index} ({merge!r}) is not two tokens separated by "
                f"one space, like 'Ġ t'."
            )
        pairs.append(tuple(parts))
    return pairs


@keras.saving.register_keras_serializable(package="tfzoo")
class BytePairTokenizer(Tokenizer):
    """Byte-level BPE, giving the ids of GPT-2's tokenizer.

    Runs in the graph (tf.data, `tf.function`, exported SavedModels) with
    TensorFlow and tf-text ops only, and gives the ids of Hugging Face's
    `GPT2Tokenizer` (or `RobertaTokenizer` with `add_prefix_space=True`)
    for the same `vocab.json` and `merges.txt`. Every byte has a token, so
    any text encodes; `detokenize` inverts `tokenize` exactly.

    Args:
        vocabulary: a `vocab.json` path or a dict token -> id. It must hold
            the 256 byte tokens.
        merges: a `merges.txt` path or a list of "a b" merges, best first.
        add_prefix_space: add a space before text that does not start
            with one, so the first word is tokenized like the others
            (RoBERTa-style). As in Hugging Face's tokenizers library (and
            so transformers 5), each stretch of text between special
            tokens gets its own space; transformers 4's slow Python
            tokenizers added one only at the start, and none before other
            whitespace.
        special_tokens: tokens kept whole when written in the text, such as
            "<|endoftext|>", or RoBERTa's "<s>", "</s>", "<pad>", "<mask>".
            Defaults to "<|endoftext|>" if it is in the vocabulary.
        lstrip_tokens: special tokens that also take the whitespace before
            them, as RoBERTa's "<mask>" does in its `tokenizer.json`
            ("a <mask>" is then "a", "<mask>").
        packing_tokens: how the model wraps segments, for the task
            preprocessors: a dict with "start", "end" and "pad" tokens,
            optionally "pair_start" (tokens before the second segment) and
            "segment_ids" (bool, default False). RoBERTa's is
            `{"start": "<s>", "end": "</s>", "pad": "<pad>", "pair_start":
            ["</s>"]}`. None (GPT-2) means raw text cannot be packed.

    Example:

    >>> vocabulary = {token: i for i, token in enumerate(byte_token_order())}
    >>> for token in ["Ġw", "or", "Ġwor", "ld", "Ġworld", "<|endoftext|>"]:
    ...     vocabulary[token] = len(vocabulary)
    >>> merges = ["Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"]
    >>> tokenizer = BytePairTokenizer(vocabulary, merges)
    >>> ids = tokenizer(["a world<|endoftext|>"])
    >>> ids.to_list(), tokenizer.end_of_text_id
    ([[64, 260, 261]], 261)
    >>> tokenizer.detokenize(ids).numpy()
    array([b'a world<|endoftext|>'], dtype=object)
    """

    def __init__(
        self,
        vocabulary,
        merges,
        add_prefix_space=False,
        special_tokens=None,
        lstrip_tokens=(),
        packing_tokens=None,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        self.vocabulary = load_vocabulary(vocabulary)
        self.merges = [" ".join(pair) for pair in load_merges(merges)]
        self.add_prefix_space = bool(add_prefix_space)
        if special_tokens is None:
            special_tokens = (
                [END_OF_TEXT] if END_OF_TEXT in self.vocabulary else []
            )
        self.special_tokens = list(special_tokens)
        missing = [t for t in self.special_tokens if t not in self.vocabulary]
        if missing:
            raise ValueError(
                f"The special tokens {missing} are not in the vocabulary; add "
                f"them to it or leave them out of `special_tokens`."
            )
        self.lstrip_tokens = list(lstrip_tokens)
        missing = [t for t in self.lstrip_tokens
                   if t not in self.special_tokens]
        if missing:
            raise ValueError(
                f"The lstrip tokens {missing} are not special tokens; add "
                f"them to `special_tokens` too."
            )
        byte_map = bytes_to_unicode()
        missing = [byte_map[b] for b in range(256)
                   if byte_map[b] not in self.vocabulary]
        if missing:
            raise ValueError(
                f"The vocabulary lacks {len(missing)} of the 256 byte tokens "
                f"(such as {missing[:5]}), so some text could not be "
                f"encoded. Byte-level BPE vocabularies hold every byte "
                f"token; train one with `train_byte_pair_vocabulary`."
            )
        self.packing_tokens = None
        if packing_tokens is not None:
            self.packing_tokens = {
                "start": packing_tokens["start"],
                "end": packing_tokens["end"],
                "pad": packing_tokens["pad"],
                "pair_start": list(packing_tokens.get("pair_start", ())),
                "segment_ids": bool(packing_tokens.get("segment_ids", False)),
            }
            named = [self.packing_tokens[k] for k in ("start", "end", "pad")]
            missing = [t for t in named + self.packing_tokens["pair_start"]
                       if t not in self.vocabulary]
            if missing:
                raise ValueError(
                    f"The packing tokens {missing} are not in the "
                    f"vocabulary."
                )
        self._build_tables(byte_map)
        self.built = True

    def _build_tables(self, byte_map):
        size = max(self.vocabulary.values()) + 1
        byte_ids = [self.vocabulary[byte_map[b]] for b in range(256)]
        keys, results = {}, []
        for index, merge in enumerate(self.merges):
            left, right = merge.split(" ")
            for part in (left, right, left + right):
                if part not in self.vocabulary:
                    raise ValueError(
                        f"Merge {index} ({merge!r}) uses {part!r}, which is "
                        f"not in the vocabulary; the vocabulary and merges "
                        f"must come from the same tokenizer."
                    )
            key = self.vocabulary[left] * size + self.vocabulary[right]
            keys[key] = len(results)  # a repeated merge keeps its last rank
            results.append(self.vocabulary[left + right])
        keys.setdefault(-1, len(results))  # tables cannot be empty
        self._rank_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(keys), tf.int64),
                tf.constant(list(keys.values()), tf.int32),
            ),
            default_value=len(results),
        )
        self._merge_results = tf.constant(results + [0], tf.int32)
        self._byte_ids = tf.constant(byte_ids, tf.int32)
        self._id_to_token = [None] * size
        for token, i in self.vocabulary.items():
            self._id_to_token[i] = token
        decode = {char: bytes([b]) for b, char in byte_map.items()}
        specials = set(self.special_tokens)
        token_bytes = [
            b"" if token is None
            else token.encode("utf-8") if token in specials
            else b"".join(decode.get(c, c.encode("utf-8")) for c in token)
            for token in self._id_to_token
        ]
        self._token_bytes = tf.constant(token_bytes)
        self._special_table = None
        if self.special_tokens:
            self._special_table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    tf.constant(self.special_tokens),
                    tf.constant(
                        [self.vocabulary[t] for t in self.special_tokens],
                        tf.int32,
                    ),
                ),
                default_value=-1,
            )

    # ------------------------------------------------------------ lookup --

    @property
    def vocabulary_size(self):
        """The number of ids, largest id + 1."""
        return len(self._id_to_token)

    def get_vocabulary(self):
        """The tokens by id (None for an id the vocabulary leaves out)."""
        return list(self._id_to_token)

    def token_to_id(self, token):
        return id_of_token(self.vocabulary, token)

    def id_to_token(self, token_id):
        return token_of_id(self._id_to_token, token_id)

    @property
    def packing(self):
        """The `Packing` of `packing_tokens`, as ids (None without)."""
        if self.packing_tokens is None:
            return None
        tokens = self.packing_tokens
        return Packing(
            self.vocabulary[tokens["start"]], self.vocabulary[tokens["end"]],
            self.vocabulary[tokens["pad"]],
            tuple(self.vocabulary[t] for t in tokens["pair_start"]),
            tokens["segment_ids"],
        )

    @property
    def end_of_text_id(self):
        """The id of "<|endoftext|>" (None if not in the vocabulary)."""
        return self.vocabulary.get(END_OF_TEXT)

    @property
    def special_token_ids(self):
        """A dict special token -> id."""
        return {t: self.vocabulary[t] for t in self.special_tokens}

    # ---------------------------------------------------------- tokenize --

    def split_words(self, text):
        """Pre-tokenization: strings `[batch]` to ragged word bytes."""
        return split_words(text, self.special_tokens, self.add_prefix_space,
                           self.lstrip_tokens)

    def tokenize(self, text):
        """Strings `[batch]` (or a scalar) to ragged int32 ids."""
        text = tf.convert_to_tensor(text)
        if text.dtype != tf.string:
            raise TypeError(
                f"{type(self).__name__} takes strings, got {text.dtype}."
            )
        if text.shape.rank not in (0, 1, None):
            raise ValueError(
                f"{type(self).__name__} takes a string or a 1-D batch of "
                f"strings, got shape {text.shape}; flatten or squeeze it."
            )
        scalar = text.shape.rank == 0
        if scalar:
            text = text[None]
        words = self.split_words(check_utf8(text))
        unique, index = tf.unique(words.flat_values)
        tokens = tf.gather(self._bpe(unique), index)
        ids = words.with_flat_values(tokens).merge_dims(-2, -1)
        return ids[0] if scalar else ids

    def _bpe(self, words):
        """Unique words `[n]` to ragged token ids `[n, None]`."""
        symbols = tf.strings.unicode_decode(words, "ISO-8859-1")  # bytes
        symbols = tf.ragged.map_flat_values(
            tf.gather, self._byte_ids, symbols
        )
        if self._special_table is not None:
            special = self._special_table.lookup(words)
            is_special = special >= 0
            symbols = tf.concat(
                [
                    tf.RaggedTensor.from_row_lengths(
                        tf.boolean_mask(special, is_special),
                        tf.cast(is_special, tf.int64),
                    ),
                    tf.ragged.boolean_mask(
                        symbols,
                        symbols.with_flat_values(
                            tf.repeat(~is_special, symbols.row_lengths())
                        ),
                    ),
                ],
                axis=1,
            )
        values, row_ids = _merge_loop(
            symbols.flat_values,
            tf.cast(symbols.value_rowids(), tf.int32),
            self._rank_table,
            self._merge_results,
            len(self._id_to_token),
        )
        return tf.RaggedTensor.from_value_rowids(
            values, tf.cast(row_ids, tf.int64), nrows=tf.size(words, tf.int64)
        )

    def detokenize(self, ids):
        """Ids (ragged, dense, or one sequence) to strings.

        Byte sequences that are not valid UTF-8 (say, a multi-byte
        character cut in half) decode to U+FFFD.
        """
        if isinstance(ids, (list, tuple)):  # rows may differ in length
            ids = tf.ragged.constant(ids, tf.int32)
        elif not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
        flat = ids.flat_values if isinstance(ids, tf.RaggedTensor) else ids
        size = len(self._id_to_token)
        check = tf.debugging.Assert(
            tf.reduce_all((flat >= 0) & (flat < size)),
            [f"Token ids must be in [0, {size}), the vocabulary; got",
             tf.boolean_mask(flat, (flat < 0) | (flat >= size))[:5]],
        )
        with tf.control_dependencies([check]):
            tokens = tf.gather(self._token_bytes, ids)
        text = tf.strings.reduce_join(tokens, axis=-1)
        return tf.strings.unicode_transcode(
            text, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": dict(self.vocabulary),
                "merges": list(self.merges),
                "add_prefix_space": self.add_prefix_space,
                "special_tokens": list(self.special_tokens),
                "lstrip_tokens": list(self.lstrip_tokens),
                "packing_tokens": self.packing_tokens,
            }
        )
        return config


def _merge_loop(values, row_ids, rank_table, merge_results, vocabulary_size):
    """Applies BPE merges to symbols `values` of words `row_ids` (sorted).

    Each step merges, in every word at once, all left-to-right occurrences
    of that word's best-ranked adjacent pair, as GPT-2 does; it stops when
    no word has a ranked pair.
    """
    no_rank = tf.shape(merge_results)[0] - 1

    def step(values, row_ids, _):
        left, right = values[:-1], values[1:]
        same_word = tf.equal(row_ids[:-1], row_ids[1:])
        keys = (tf.cast(left, tf.int64) * vocabulary_size
                + tf.cast(right, tf.int64))
        ranks = tf.where(same_word, rank_table.lookup(keys), no_rank)
        best = tf.math.unsorted_segment_min(
            ranks, row_ids[:-1], tf.reduce_max(row_ids) + 1
        )
        candidate = tf.equal(ranks, tf.gather(best, row_ids[:-1])) & (
            ranks < no_rank
        )
        # A run of overlapping candidates (pair "a a" in "a a a") merges
        # its first, third, ... pairs: the offset within the run is even.
        groups = tf.cumsum(tf.cast(~candidate, tf.int32))
        before = tf.cumsum(tf.cast(candidate, tf.int32), exclusive=True)
        offset = before - tf.gather(
            tf.math.segment_min(before, groups), groups
        )
        merge = candidate & tf.equal(offset % 2, 0)
        merged = tf.gather(merge_results, ranks)
        values = tf.where(
            tf.concat([merge, [False]], 0),
            tf.concat([merged, [0]], 0),
            values,
        )
        keep = tf.concat([[True], ~merge], 0)
        return (
            tf.boolean_mask(values, keep),
            tf.boolean_mask(row_ids, keep),
            tf.reduce_any(merge),
        )

    values, row_ids, _ = tf.while_loop(
        lambda values, row_ids, going: going,
        step,
        (values, row_ids, tf.size(values) > 1),
        shape_invariants=(
            tf.TensorShape([None]), tf.TensorShape([None]),
            tf.TensorShape([]),
        ),
    )
    return values, row_ids
