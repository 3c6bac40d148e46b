"""SentencePiece, in-graph with tf-text's `SentencepieceTokenizer` op.

Tokenizing and detokenizing run tf-text's SentencePiece ops (tf.data,
`tf.function`, exported SavedModels), which give the ids of the
`sentencepiece` package for the same `.model`. The model's metadata
(pieces, their types, the end-of-sequence piece, normalizer flags) is read
with the `sentencepiece` package's proto classes; exported SavedModels
need only TensorFlow and tf-text.

For GPT generation the end-of-sequence piece ("</s>") plays GPT-2's
"<|endoftext|>": it starts empty prompts and stops generation. Models
with `add_dummy_prefix` or `remove_extra_whitespaces` (SentencePiece's
defaults, e.g. T5's or Llama's) drop the space at the start of each
detokenized text (`drops_leading_space` tells), so generation decodes a
continuation together with its prompt and cuts the prompt off.
"""

import base64
import os

import keras
import tensorflow as tf
import tensorflow_text as tf_text
from google.protobuf.message import DecodeError
from sentencepiece import sentencepiece_model_pb2

from tfzoo.tokenizers.word_piece_tokenizer import check_utf8
from tfzoo.tokenizers.vocabulary_lookup import id_of_token, token_of_id
from tfzoo.tokenizers.tokenizer import Tokenizer

# `ModelProto.SentencePiece.Type` values.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
SPECIAL_TYPES = (UNKNOWN, CONTROL, USER_DEFINED)


def sentinel_token(index):
    """T5's sentinel number `index`: "<extra_id_{index}>"."""
    return f"<extra_id_{index}>"


class ModelFileNotFoundError(FileNotFoundError, ValueError):
    """A SentencePiece `.model` path that does not exist (a
    `FileNotFoundError` and a `ValueError`)."""


class _NotAModel(Exception):
    """The bytes do not parse as a SentencePiece `ModelProto`."""


def read_model_proto(proto):
    """The metadata of a serialized SentencePiece `ModelProto`.

    Returns a dict: `pieces` (by id), `types` (their
    `ModelProto.SentencePiece.Type` numbers: 1 normal, 2 unknown, 3
    control, 4 user-defined, 5 unused, 6 byte), `eos_piece`,
    `byte_fallback`, `add_dummy_prefix`, `remove_extra_whitespaces` and
    `normalization` (the normalizer's name). Raises `_NotAModel`.
    """
    model = sentencepiece_model_pb2.ModelProto()
    try:
        model.ParseFromString(bytes(proto))
    except DecodeError as error:
        raise _NotAModel(str(error) or "a protobuf decode error") from None
    pieces = [piece.piece for piece in model.pieces]
    types = [piece.type for piece in model.pieces]
    if not pieces:
        raise _NotAModel("no pieces")
    if types.count(UNKNOWN) != 1:
        raise _NotAModel(f"{types.count(UNKNOWN)} unknown pieces, not one")
    normalizer = model.normalizer_spec
    return {
        "pieces": pieces,
        "types": types,
        "eos_piece": model.trainer_spec.eos_piece,
        "byte_fallback": model.trainer_spec.byte_fallback,
        "add_dummy_prefix": normalizer.add_dummy_prefix,
        "remove_extra_whitespaces": normalizer.remove_extra_whitespaces,
        "normalization": normalizer.name,
    }


def load_model_proto(proto):
    """A `.model` path or serialized proto bytes to `(bytes, metadata)`."""
    if isinstance(proto, (str, os.PathLike)):
        path = os.fspath(proto)
        if not os.path.isfile(path):
            raise ModelFileNotFoundError(
                f"SentencePiece model file {path!r} not found; pass the path "
                f"of a `.model` file (as written by SentencePiece training, "
                f"e.g. `train_sentence_piece_model(..., output_path=...)`) "
                f"or its bytes."
            )
        with open(path, "rb") as file:
            data, source = file.read(), f"The file {path!r} is"
    elif isinstance(proto, (bytes, bytearray, memoryview)):
        data, source = bytes(proto), "The bytes given are"
    else:
        raise TypeError(
            f"A SentencePiece model is a `.model` file path or its bytes, "
            f"got {type(proto).__name__}."
        )
    try:
        metadata = read_model_proto(data)
    except _NotAModel as error:
        raise ValueError(
            f"{source} not a SentencePiece model (it does not parse: "
            f"{error}). Pass a SentencePiece `.model` file or its bytes "
            f"(not the `.vocab` file), e.g. from `train_sentence_piece_model`."
        ) from None
    return data, metadata


class _EagerFunctions:
    """The tokenizer's `tf.function`s for eager calls, outside Keras and
    SavedModel tracking."""

    def __init__(self):
        self.by_name = {}


@keras.saving.register_keras_serializable(package="tfzoo")
class SentencePieceTokenizer(Tokenizer):
    """SentencePiece ids, in the graph, for GPT models and data pipelines.

    Runs tf-text's SentencePiece ops (tf.data, `tf.function`, exported
    SavedModels; TensorFlow and tf-text ops only) and gives the ids of the
    `sentencepiece` package's `SentencePieceProcessor.encode` for the same
    model. With a byte-fallback model (as `train_sentence_piece_model`
    makes) no text is unknown; otherwise unknown characters become the
    unknown id, which detokenizes to " ⁇ ".

    `end_of_text_id` is the model's end-of-sequence piece (`eos_piece`,
    "</s>" by default), None if the model has none: `GPTCausalLM` starts
    empty prompts from it and stops generating at it, and
    `packed_dataset` separates documents with it. `detokenize` equals
    `SentencePieceProcessor.decode`; see the module doc for models whose
    decoding drops a leading space.

    Args:
        proto: a SentencePiece `.model` file path, or its serialized proto
            bytes (as `train_sentence_piece_model` returns). Kept in the
            config (base64), so a `.keras` file carries the model.
        extra_ids: T5's sentinels: `<extra_id_0>` ... `<extra_id_{n-1}>`
            after the model's pieces, `<extra_id_0>` last (id
            `vocabulary_size - 1`), as `transformers`' `T5Tokenizer` adds
            them. In text they become their ids (the text between them is
            tokenized piece by piece, as `transformers` does), and
            `detokenize` writes them back.

    Example:

    >>> from tfzoo.tokenizers import train_sentence_piece_model
    >>> texts = ["the cat sat on the mat", "the dog sat on the log"] * 10
    >>> proto = train_sentence_piece_model(texts, 300, model_type="bpe")
    >>> tokenizer = SentencePieceTokenizer(proto)
    >>> tokenizer.vocabulary_size, tokenizer.end_of_text_id
    (300, 3)
    >>> ids = tokenizer(["the cat sat", "naïve 😀"])
    >>> [tokenizer.id_to_token(i) for i in ids[0].numpy()]
    ['the', '▁cat', '▁sat']
    >>> tokenizer.detokenize(ids).numpy()[1].decode("utf-8")
    'naïve 😀'
    """

    def __init__(self, proto, extra_ids=0, **kwargs):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        if int(extra_ids) != extra_ids or extra_ids < 0:
            raise ValueError(
                f"extra_ids must be an integer >= 0, got {extra_ids!r}."
            )
        self.extra_ids = int(extra_ids)
        self.proto, metadata = load_model_proto(proto)
        self._model_pieces = metadata["pieces"]
        # Sentinels after the model's pieces, <extra_id_0> last.
        self._pieces = self._model_pieces + [
            sentinel_token(self.extra_ids - 1 - i)
            for i in range(self.extra_ids)]
        self._types = metadata["types"] + [USER_DEFINED] * self.extra_ids
        self._metadata = metadata
        self._unknown_id = (self._types.index(UNKNOWN)
                            if UNKNOWN in self._types else -1)
        self._piece_ids = {}
        for i, piece in enumerate(self._pieces):
            self._piece_ids.setdefault(piece, i)
        eos = self._piece_ids.get(metadata["eos_piece"])
        self._end_of_text_id = (
            eos if eos is not None and self._types[eos] == CONTROL else None
        )
        self._eager_functions = _EagerFunctions()
        try:
            with tf.init_scope():  # in its own graph: nothing kept
                size = int(tf.function(
                    lambda: self._processor().vocab_size(), autograph=False
                )())
        except tf.errors.OpError as error:
            raise ValueError(
                f"tf-text could not load the SentencePiece model "
                f"({error.message.strip()}); pass a `.model` file or its "
                f"bytes, e.g. from `train_sentence_piece_model`."
            ) from None
        if size != len(self._model_pieces):
            raise ValueError(
                f"tf-text reads {size} pieces from the SentencePiece model, "
                f"its proto lists {len(self._model_pieces)}; the model is "
                f"damaged. "
                f"Train or download it again."
            )
        self.built = True

    def _processor(self):
        """tf-text's tokenizer for the current graph.

        Its SentencePiece resource belongs to the kernel that made it. An
        eager one would die when `tf.random.set_seed` (and so
        `keras.utils.set_random_seed`) drops the eager kernels, so each
        graph (`tf.function`, tf.data, an exported signature, and the
        functions that run eager calls) makes its own, kept on the graph.
        """
        graph = tf.compat.v1.get_default_graph()
        processors = getattr(graph, "_tfzoo_sentence_piece", None)
        if processors is None:
            processors = {}
            graph._tfzoo_sentence_piece = processors
        if self.proto not in processors:
            processors[self.proto] = tf_text.SentencepieceTokenizer(
                model=self.proto, out_type=tf.int32
            )
        return processors[self.proto]

    def _in_graph(self, name, function, value, spec):
        """`function(value)`; eager calls go through a `tf.function` of
        input `spec`."""
        if not tf.executing_eagerly():
            return function(value)
        functions = self._eager_functions.by_name
        if name not in functions:
            functions[name] = tf.function(
                function, input_signature=[spec], autograph=False
            )
        return functions[name](value)

    # ------------------------------------------------------------ lookup --

    @property
    def vocabulary_size(self):
        """The number of pieces, sentinels included."""
        return len(self._pieces)

    def get_vocabulary(self):
        """The pieces by id ("▁" marks a space, "<0x41>" a byte), then the
        sentinels."""
        return list(self._pieces)

    def sentinel_id(self, index):
        """The id of `<extra_id_{index}>`."""
        if not 0 <= index < self.extra_ids:
            raise ValueError(
                f"This tokenizer has {self.extra_ids} sentinels "
                f"(extra_ids); <extra_id_{index}> is not one of them."
            )
        return len(self._pieces) - 1 - index

    def token_to_id(self, token):
        return id_of_token(self._piece_ids, token)

    def id_to_token(self, token_id):
        return token_of_id(self._pieces, token_id)

    @property
    def end_of_text_id(self):
        """The id of the model's end-of-sequence piece ("</s>" by default),
        None if it has none."""
        return self._end_of_text_id

    @property
    def special_tokens(self):
        """The unknown, control ("<pad>", "<s>", "</s>") and user-defined
        pieces, in id order."""
        return [piece for piece, kind in zip(self._pieces, self._types)
                if kind in SPECIAL_TYPES]

    @property
    def special_token_ids(self):
        """A dict special token -> id (see `special_tokens`)."""
        return {t: self._piece_ids[t] for t in self.special_tokens}

    @property
    def drops_leading_space(self):
        """Whether `detokenize` drops a space at the start of its text, as
        models with `add_dummy_prefix` or `remove_extra_whitespaces` do."""
        return (self._metadata["add_dummy_prefix"]
                or self._metadata["remove_extra_whitespaces"])

    # ---------------------------------------------------------- tokenize --

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
        ids = self._in_graph(
            "tokenize", self._tokenize, text[None] if scalar else text,
            tf.TensorSpec([None], tf.string),
        )
        return ids[0] if scalar else ids

    def _tokenize(self, text):
        text = check_utf8(text)
        if not self.extra_ids:
            return self._processor().tokenize(text)
        # Sentinels apart, each stretch between them on its own.
        pattern = self._sentinel_pattern()
        stretches, _, _ = tf_text.regex_split_with_offsets(
            text, pattern, keep_delim_regex_pattern=pattern)
        flat = stretches.flat_values
        is_sentinel = tf.strings.regex_full_match(flat, pattern)
        ids = self._processor().tokenize(tf.where(is_sentinel, "", flat))
        sentinels = tf.RaggedTensor.from_row_lengths(
            self._sentinel_ids_of(tf.boolean_mask(flat, is_sentinel)),
            tf.cast(is_sentinel, tf.int64))
        ids = tf.concat([ids, tf.cast(sentinels, ids.dtype)], axis=1)
        return stretches.with_flat_values(ids).merge_dims(1, 2)

    def _sentinel_pattern(self):
        # The sentinels this tokenizer has, and no other number.
        numbers = "|".join(str(i) for i in range(self.extra_ids))
        return f"<extra_id_(?:{numbers})>"

    def _sentinel_ids_of(self, sentinels):
        numbers = tf.strings.to_number(
            tf.strings.regex_replace(sentinels, r"<extra_id_(\d+)>", r"\1"),
            tf.int32)
        return len(self._pieces) - 1 - numbers

    def detokenize(self, ids):
        """Ids (ragged, dense, or one sequence) to strings, as
        `SentencePieceProcessor.decode`: control pieces ("<pad>", "</s>")
        give nothing, and byte pieces that do not make valid UTF-8 give
        U+FFFD."""
        if isinstance(ids, (list, tuple)):  # rows may differ in length
            try:
                ids = tf.ragged.constant(ids, tf.int64)
            except (TypeError, ValueError):  # not integers: said below
                ids = tf.ragged.constant(ids)
        elif not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
        if not ids.dtype.is_integer:
            raise TypeError(
                f"{type(self).__name__}.detokenize takes integer ids, got "
                f"{ids.dtype.name}."
            )
        if ids.shape.rank is None:  # only in graphs
            return self._detokenize(ids)
        if ids.shape.rank not in (1, 2):
            raise ValueError(
                f"{type(self).__name__}.detokenize takes one sequence of "
                f"ids or a batch of them, got shape {ids.shape}."
            )
        if ids.shape.rank == 1:
            return self.detokenize(ids[None])[0]
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        ids = tf.cast(ids, tf.int64).with_row_splits_dtype(tf.int64)
        return self._in_graph(
            "detokenize", self._detokenize, ids,
            tf.RaggedTensorSpec([None, None], tf.int64, ragged_rank=1,
                                row_splits_dtype=tf.int64),
        )

    def _detokenize(self, ids):
        flat = ids.flat_values if isinstance(ids, tf.RaggedTensor) else ids
        size = len(self._pieces)
        check = tf.debugging.Assert(
            tf.reduce_all((flat >= 0) & (flat < size)),
            [f"Token ids must be in [0, {size}), the vocabulary; got",
             tf.boolean_mask(flat, (flat < 0) | (flat >= size))[:5]],
        )
        with tf.control_dependencies([check]):
            ids = tf.cast(ids, tf.int32)
        if not self.extra_ids:
            return self._processor().detokenize(ids)
        return self._detokenize_with_sentinels(ids)

    def _detokenize_with_sentinels(self, ids):
        """As `transformers` decodes T5 ids: the pieces between sentinels
        as one text each, the sentinels (and `<unk>`) as their names,
        joined; a stretch after one keeps the space its first piece starts
        with."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        model_size = len(self._model_pieces)
        flat = ids.flat_values
        # Sentinels and the unknown piece are written as their names.
        is_sentinel = (flat >= model_size) | (flat == self._unknown_id)
        rows = ids.value_rowids()
        starts_row = tf.concat(
            [[True], rows[1:] != rows[:-1]], 0)[:tf.shape(flat)[0]]
        after_sentinel = tf.concat([[False], is_sentinel[:-1]], 0)[
            :tf.shape(flat)[0]] & tf.logical_not(starts_row)
        # A new stretch at each row start, sentinel, and piece after one.
        starts = starts_row | is_sentinel | after_sentinel
        stretch_ids = tf.cumsum(tf.cast(starts, tf.int64)) - 1
        stretches = tf.RaggedTensor.from_value_rowids(
            tf.where(is_sentinel, 0, flat), stretch_ids)
        first = tf.boolean_mask(flat, starts)
        texts = self._processor().detokenize(stretches)
        pieces = tf.constant(self._pieces)
        names = tf.gather(pieces, first)
        spaced = (tf.boolean_mask(after_sentinel, starts)
                  & tf.strings.regex_full_match(names, "\u2581.*"))
        if self.drops_leading_space:
            texts = tf.where(spaced, tf.strings.join([" ", texts]), texts)
        texts = tf.where((first >= model_size) | (first == self._unknown_id),
                         names, texts)
        stretch_rows = tf.boolean_mask(rows, starts)
        joined = tf.RaggedTensor.from_value_rowids(
            texts, stretch_rows, nrows=ids.nrows(out_type=tf.int64))
        return tf.strings.reduce_join(joined, axis=1)

    def get_config(self):
        config = super().get_config()
        config["proto"] = base64.b64encode(self.proto).decode("ascii")
        config["extra_ids"] = self.extra_ids
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("proto"), str):
            config["proto"] = base64.b64decode(config["proto"])
        return cls(**config)
