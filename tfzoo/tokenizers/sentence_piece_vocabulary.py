"""Training a SentencePiece model (unigram or BPE) in memory."""

import io
import os
import re
import warnings

import tensorflow as tf

MODEL_TYPES = ("unigram", "bpe")

# Defaults for causal language models; any can be overridden by keyword.
DEFAULT_OPTIONS = {
    # Characters outside the vocabulary become their UTF-8 byte pieces
    # ("<0xF0>", ...): no text is ever unknown. Needs 256 ids.
    "byte_fallback": True,
    "pad_id": 0,
    "unk_id": 1,
    "bos_id": 2,
    "eos_id": 3,  # "</s>": the tokenizer's end_of_text_id
    # No NFKC, no whitespace clean-up, no space added before the text:
    # `detokenize(tokenize(text)) == text` for any text, and decoding is
    # plain concatenation, so a GPT continuation appends to its prompt.
    "normalization_rule_name": "identity",
    "remove_extra_whitespaces": False,
    "add_dummy_prefix": False,
    "character_coverage": 0.9995,
    "max_sentence_length": 1 << 16,  # bytes; longer lines are skipped
    "minloglevel": 1,  # warnings and errors only
}
# T5's conventions (`conventions="t5"`): <pad> 0, </s> 1, <unk> 2, no
# <s>; NFKC with whitespace clean-up and a space added before the text, no
# byte pieces (unknown characters are <unk>, as `transformers`' T5Tokenizer
# reads the model). The sentinels are not pieces: `SentencePieceTokenizer(
# proto, extra_ids=100)` adds them after the model's pieces.
T5_OPTIONS = {
    "byte_fallback": False,
    "pad_id": 0,
    "eos_id": 1,
    "unk_id": 2,
    "bos_id": -1,
    "normalization_rule_name": "nmt_nfkc",
    "remove_extra_whitespaces": True,
    "add_dummy_prefix": True,
    "character_coverage": 1.0,
}
CONVENTIONS = {"gpt": {}, "t5": T5_OPTIONS}
_RESERVED = {"sentence_iterator", "model_writer", "input", "model_prefix",
             "vocab_size", "model_type"}


def _lines(texts_or_dataset):
    """Each text's lines, each keeping its "\\n" (SentencePiece trains on
    lines; the newline stays a character it can learn)."""
    if isinstance(texts_or_dataset, (str, bytes)):
        raise TypeError(
            "Pass a list of texts or a tf.data.Dataset of strings, not one "
            "string; for a file, pass e.g. open(path).read().splitlines()."
        )
    if isinstance(texts_or_dataset, tf.data.Dataset):
        texts = (
            text
            for batch in texts_or_dataset.as_numpy_iterator()
            for text in (batch.reshape(-1) if hasattr(batch, "reshape")
                         else [batch])
        )
    else:
        texts = texts_or_dataset
    lines = []
    for index, text in enumerate(texts):
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"Text {index} is not valid UTF-8 ({error}); decode or "
                    f"clean it first."
                ) from None
        if not isinstance(text, str):
            raise TypeError(
                f"Text {index} is a {type(text).__name__}, not a string."
            )
        lines.extend(line for line in re.split(r"(?<=\n)", text) if line)
    if not lines:
        raise ValueError("No texts to train a SentencePiece model on.")
    return lines


def _training_error(message, vocabulary_size):
    """SentencePiece's error message as a ValueError that says the fix."""
    too_high = re.search(r"Vocabulary size too high \((\d+)\).*<= (\d+)",
                         message)
    if too_high:
        return ValueError(
            f"vocabulary_size={vocabulary_size} is too large for these "
            f"texts: SentencePiece can make at most {too_high.group(2)} "
            f"pieces from them. Lower vocabulary_size to "
            f"{too_high.group(2)} or less, or train on more text."
        )
    too_low = re.search(r"smaller than required_chars\. (\d+) vs (\d+)",
                        message)
    if too_low:
        return ValueError(
            f"vocabulary_size={vocabulary_size} is too small: the special "
            f"pieces, the 256 byte pieces (byte_fallback) and the texts' "
            f"characters alone take {too_low.group(2)}. Raise "
            f"vocabulary_size to at least {too_low.group(2)}, or lower "
            f"character_coverage."
        )
    return ValueError(f"SentencePiece training failed: {message.strip()}")


def train_sentence_piece_model(
    texts_or_dataset,
    vocabulary_size,
    model_type="unigram",
    output_path=None,
    conventions="gpt",
    **options,
):
    """Trains a SentencePiece model in memory; returns its proto bytes.

    The bytes (or the `.model` file written to `output_path`) load in
    `SentencePieceTokenizer` and in the `sentencepiece` package. Ids 0-3
    are "<pad>", "<unk>", "<s>" and "</s>" ("</s>" is the end of text for
    GPT), then come the 256 byte pieces (byte fallback: no text is ever
    unknown), then the learned pieces. Text is not normalized, no space is
    added before it and whitespace is kept, so detokenizing gives the text
    back exactly, and a space starts the piece of the word after it
    ("▁world"), as in GPT-2.

    Args:
        texts_or_dataset: a list of strings, or a `tf.data.Dataset` of
            strings (scalars or batches). Texts are split into lines, each
            keeping its newline.
        vocabulary_size: the number of pieces, specials and bytes included.
        model_type: "unigram" or "bpe".
        output_path: if given, also writes the `.model` file there.
        conventions: "gpt" (the defaults above) or "t5" (`T5_OPTIONS`:
            `<pad>` 0, `</s>` 1, `<unk>` 2, NFKC, whitespace clean-up, a
            space before the text, no byte pieces), as T5's `spiece.model`.
        **options: any `SentencePieceTrainer` option, overriding the
            defaults in `DEFAULT_OPTIONS` (e.g. `user_defined_symbols`,
            `split_digits=True`, `input_sentence_size` with
            `shuffle_input_sentence` for large corpora, `eos_id=-1`).

    Example:

    >>> from tfzoo.tokenizers import SentencePieceTokenizer
    >>> proto = train_sentence_piece_model(["the cat sat on the mat"] * 20,
    ...                                    270, model_type="bpe")
    >>> SentencePieceTokenizer(proto).get_vocabulary()[:5]
    ['<pad>', '<unk>', '<s>', '</s>', '<0x00>']
    """
    try:
        import sentencepiece
    except ImportError:
        raise ImportError(
            "Training a SentencePiece model needs the sentencepiece package: "
            "pip install 'sentencepiece>=0.2'."
        ) from None
    if model_type not in MODEL_TYPES:
        raise ValueError(
            f"model_type must be one of {MODEL_TYPES}, got {model_type!r}."
        )
    if int(vocabulary_size) != vocabulary_size or vocabulary_size < 1:
        raise ValueError(
            f"vocabulary_size must be a positive integer, got "
            f"{vocabulary_size!r}."
        )
    reserved = sorted(_RESERVED & set(options))
    if reserved:
        raise TypeError(
            f"{reserved} are set by train_sentence_piece_model itself; use "
            f"its arguments (vocabulary_size, model_type, output_path)."
        )
    if conventions not in CONVENTIONS:
        raise ValueError(
            f"conventions must be one of {sorted(CONVENTIONS)}, got "
            f"{conventions!r}."
        )
    lines = _lines(texts_or_dataset)
    settings = {**DEFAULT_OPTIONS, **CONVENTIONS[conventions],
                "num_threads": min(16, os.cpu_count() or 1), **options}
    limit = settings["max_sentence_length"]
    too_long = sum(len(line.encode("utf-8")) > limit for line in lines)
    if too_long:
        warnings.warn(
            f"{too_long} of {len(lines)} lines are longer than "
            f"max_sentence_length={limit} bytes; SentencePiece leaves them "
            f"out of vocabulary training. Pass a larger max_sentence_length "
            f"to include them."
        )
    writer = io.BytesIO()
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=writer,
            vocab_size=int(vocabulary_size), model_type=model_type,
            **settings,
        )
    except RuntimeError as error:
        raise _training_error(str(error), vocabulary_size) from None
    proto = writer.getvalue()
    if output_path is not None:
        directory = os.path.dirname(os.fspath(output_path))
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(output_path, "wb") as file:
            file.write(proto)
    return proto
