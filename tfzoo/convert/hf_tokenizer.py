"""Tokenizers from Hugging Face checkpoint files, and back.

WordPiece checkpoints (BERT, DistilBERT) carry `vocab.txt` (or, written by
`transformers` 5, only a WordPiece `tokenizer.json`); byte-level BPE
checkpoints (RoBERTa, GPT-2) carry `vocab.json` and `merges.txt`. Casing
(`do_lower_case`, `strip_accents`) and the special tokens come from
`tokenizer_config.json` and `special_tokens_map.json`.

Example:

>>> import tempfile
>>> from tfzoo.tokenizers import WordPieceTokenizer
>>> directory = tempfile.mkdtemp()
>>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Hi", "hi"]
>>> save_tokenizer(WordPieceTokenizer(vocabulary, lowercase=False),
...                directory, "bert")
>>> tokenizer = load_tokenizer(directory)
>>> tokenizer.lowercase, tokenizer(["Hi hi"]).to_list()
(False, [[5, 6]])
"""

import json
import os

from tfzoo.models import registry
from tfzoo.tokenizers import (
    BytePairTokenizer,
    SentencePieceTokenizer,
    WordPieceTokenizer,
)

SENTENCE_PIECE_FILE = "spiece.model"

WORD_PIECE_ROLES = ("pad_token", "unk_token", "cls_token", "sep_token",
                    "mask_token")
BERT_DEFAULTS = {"pad_token": "[PAD]", "unk_token": "[UNK]",
                 "cls_token": "[CLS]", "sep_token": "[SEP]",
                 "mask_token": "[MASK]"}


def _format_special_tokens(model_type):
    """The special tokens a model type's tokenizer files name by default."""
    formats = registry.checkpoint_formats()
    if model_type not in formats:
        return {}
    return formats[model_type].SPECIAL_TOKENS


def _read_json(path):
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as file:
        try:
            return json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}.") from None


def _token(value):
    """A special token written as a string or as an AddedToken dict."""
    if isinstance(value, dict):
        return value.get("content")
    return value


def tokenizer_settings(directory):
    """`tokenizer_config.json` merged over `special_tokens_map.json`."""
    settings = _read_json(os.path.join(directory, "special_tokens_map.json"))
    settings.update(_read_json(os.path.join(directory,
                                            "tokenizer_config.json")))
    result = {
        key: _token(value) if key.endswith("_token") else value
        for key, value in settings.items()
    }
    if isinstance(settings.get("mask_token"), dict):
        result["_mask_lstrip"] = bool(settings["mask_token"].get("lstrip"))
    return result


def load_tokenizer(directory):
    """The tfzoo tokenizer of a checkpoint directory.

    `vocab.txt` gives a `WordPieceTokenizer`; `vocab.json` plus
    `merges.txt` give a `BytePairTokenizer`.
    """
    settings = tokenizer_settings(directory)
    vocab_txt = os.path.join(directory, "vocab.txt")
    vocab_json = os.path.join(directory, "vocab.json")
    merges = os.path.join(directory, "merges.txt")
    if os.path.isfile(vocab_txt):
        lowercase = bool(settings.get("do_lower_case", True))
        strip_accents = settings.get("strip_accents")
        if strip_accents is None:
            strip_accents = lowercase
        special = [settings.get(r) or BERT_DEFAULTS[r]
                   for r in WORD_PIECE_ROLES]
        return WordPieceTokenizer(
            vocab_txt, lowercase=lowercase,
            strip_accents=strip_accents,
            special_tokens=special,
        )
    if os.path.isfile(vocab_json) and os.path.isfile(merges):
        return _byte_pair_tokenizer(directory, settings, vocab_json, merges)
    spiece = os.path.join(directory, SENTENCE_PIECE_FILE)
    if os.path.isfile(spiece):
        # T5's sentinels: transformers' T5Tokenizer adds 100 unless the
        # tokenizer config says otherwise.
        extra_ids = settings.get("extra_ids")
        if extra_ids is None:
            extra_ids = 100 if "T5" in str(
                settings.get("tokenizer_class", "T5")) else 0
        return SentencePieceTokenizer(spiece, extra_ids=int(extra_ids))
    fast = _read_json(os.path.join(directory, "tokenizer.json"))
    if fast.get("model", {}).get("type") == "WordPiece":
        return _word_piece_from_tokenizer_json(fast, settings)
    found = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
    raise FileNotFoundError(
        f"No tokenizer files in {directory}: tfzoo reads vocab.txt "
        f"(WordPiece), a WordPiece tokenizer.json, vocab.json plus "
        f"merges.txt (byte-level BPE) or spiece.model (SentencePiece); "
        f"found "
        f"{found}."
    )


def _word_piece_from_tokenizer_json(fast, settings):
    """A `WordPieceTokenizer` from a `tokenizer.json` alone (what
    `transformers` 5 saves for BERT-style tokenizers: no vocab.txt)."""
    model = fast["model"]
    if model.get("continuing_subword_prefix", "##") != "##":
        raise ValueError(
            f"tokenizer.json's WordPiece marks word pieces with "
            f"{model['continuing_subword_prefix']!r}; tfzoo's WordPiece "
            f"tokenizer reads '##'."
        )
    vocabulary = [token for token, _ in sorted(model["vocab"].items(),
                                                key=lambda item: item[1])]
    normalizer = fast.get("normalizer") or {}
    lowercase = bool(normalizer.get(
        "lowercase", settings.get("do_lower_case", True)))
    strip_accents = normalizer.get("strip_accents")
    if strip_accents is None:
        strip_accents = lowercase
    special = [settings.get(r) or BERT_DEFAULTS[r] for r in WORD_PIECE_ROLES]
    return WordPieceTokenizer(vocabulary, lowercase=lowercase,
                              strip_accents=bool(strip_accents),
                              special_tokens=special)


def _byte_pair_tokenizer(directory, settings, vocab_json, merges):
    config = _read_json(os.path.join(directory, "config.json"))
    tokens = dict(_format_special_tokens(config.get("model_type")))
    tokens.update({k: v for k, v in settings.items()
                   if k.endswith("_token") and v})
    with open(vocab_json, encoding="utf-8") as file:
        vocabulary = json.load(file)
    special = sorted({t for t in tokens.values() if t in vocabulary})
    mask = tokens.get("mask_token")
    # RoBERTa's "<mask>" takes the space before it (lstrip in its
    # tokenizer.json) unless the tokenizer config says otherwise.
    lstrip = settings.get("_mask_lstrip", "mask_token" in tokens)
    return BytePairTokenizer(
        vocabulary=vocabulary, merges=merges,
        add_prefix_space=bool(settings.get("add_prefix_space", False)),
        special_tokens=special,
        lstrip_tokens=[mask] if mask in special and lstrip else [],
        packing_tokens=_byte_pair_packing(
            directory, tokens, vocabulary, config.get("model_type")),
    )


def _byte_pair_packing(directory, tokens, vocabulary, model_type):
    """How the checkpoint's model wraps segments (`packing_tokens` of a
    `BytePairTokenizer`): from `tokenizer.json`'s post-processor when
    there is one, else the model type's pattern (RoBERTa's
    `<s> a </s></s> b </s>`); None for GPT-2 (no start or end token)."""
    fast = _read_json(os.path.join(directory, "tokenizer.json"))
    processor = fast.get("post_processor") or {}
    processors = processor.get("processors") or [processor]
    pad = tokens.get("pad_token")
    if pad not in vocabulary:
        return None  # nothing to pad with
    for step in processors:
        kind = step.get("type")
        if kind == "RobertaProcessing":
            return {"start": step["cls"][0], "end": step["sep"][0],
                    "pad": pad, "pair_start": [step["sep"][0]]}
        if kind == "BertProcessing":
            return {"start": step["cls"][0], "end": step["sep"][0],
                    "pad": pad, "segment_ids": True}
        if kind == "TemplateProcessing":
            return _template_packing(step, pad, directory)
    roles = _format_attribute(model_type, "PACKING_ROLES")
    if roles is None:
        return None
    packing = {key: (tokens.get(role) if isinstance(role, str)
                     else [tokens.get(r) for r in role])
               for key, role in roles.items()}
    named = [packing["start"], packing["end"], packing["pad"],
             *packing.get("pair_start", [])]
    if None in named or any(t not in vocabulary for t in named):
        return None
    return packing


def _template_packing(step, pad, directory):
    """`packing_tokens` of a TemplateProcessing post-processor whose pair
    template is `start A end [pair_start...] B end`."""
    def pieces(template):
        return [("special", p["SpecialToken"]["id"],
                 p["SpecialToken"].get("type_id", 0)) if "SpecialToken" in p
                else ("sequence", p["Sequence"]["id"],
                      p["Sequence"].get("type_id", 0))
                for p in template]

    pair = pieces(step.get("pair") or [])
    kinds = [p[0] for p in pair]
    shape_ok = (
        len(pair) >= 5 and kinds[0] == "special" and kinds[1] == "sequence"
        and kinds[2] == "special" and kinds[-1] == "special"
        and kinds[-2] == "sequence" and kinds.count("sequence") == 2
        and pair[2][1] == pair[-1][1]
    )
    if not shape_ok:
        raise NotImplementedError(
            f"{directory}/tokenizer.json packs pairs as "
            f"{[p[1] for p in pair]}; tfzoo packs `start A end "
            f"[more tokens] B end` only."
        )
    return {"start": pair[0][1], "end": pair[2][1], "pad": pad,
            "pair_start": [p[1] for p in pair[3:-2]],
            "segment_ids": pair[-2][2] != pair[1][2]}


def _format_attribute(model_type, name):
    formats = registry.checkpoint_formats()
    if model_type not in formats:
        return None
    return getattr(formats[model_type], name, None)


def check_savable(tokenizer, model_type=None):
    """Raises a clear `ValueError` for a tokenizer with no Hugging Face
    file format here: WordPiece and byte-level BPE, and SentencePiece for
    model types whose tokenizer is one (`SENTENCE_PIECE` in their
    checkpoint format, e.g. T5)."""
    kinds = [WordPieceTokenizer, BytePairTokenizer]
    formats = registry.checkpoint_formats()
    if getattr(formats.get(model_type), "SENTENCE_PIECE", False):
        kinds.append(SentencePieceTokenizer)
    if not isinstance(tokenizer, tuple(kinds)):
        raise ValueError(
            f"save_pretrained writes WordPiece (vocab.txt) and byte-level "
            f"BPE (vocab.json + merges.txt) tokenizers, and SentencePiece "
            f"(spiece.model) for T5; it cannot write a "
            f"{type(tokenizer).__name__} for model_type {model_type!r}. "
            f"Pass tokenizer=False to save the weights and config without "
            f"it, and keep the tokenizer's own file (e.g. the SentencePiece "
            f".model) beside them."
        )


def save_tokenizer(tokenizer, directory, model_type, model_max_length=None):
    """Writes `tokenizer` as Hugging Face tokenizer files."""
    check_savable(tokenizer, model_type)
    os.makedirs(directory, exist_ok=True)
    config = {"tokenizer_class": registry.checkpoint_format(
        model_type).TOKENIZER_CLASS}
    if model_max_length:
        config["model_max_length"] = int(model_max_length)
    if hasattr(tokenizer, "lowercase"):  # WordPiece
        with open(os.path.join(directory, "vocab.txt"), "w",
                  encoding="utf-8") as file:
            file.writelines(t + "\n" for t in tokenizer.get_vocabulary())
        tokens = dict(zip(WORD_PIECE_ROLES, _word_piece_specials(tokenizer)))
        config.update(
            do_lower_case=tokenizer.lowercase,
            strip_accents=(
                None if tokenizer.strip_accents == tokenizer.lowercase
                else tokenizer.strip_accents
            ),
            tokenize_chinese_chars=True, **tokens,
        )
    elif isinstance(tokenizer, SentencePieceTokenizer):
        with open(os.path.join(directory, SENTENCE_PIECE_FILE), "wb") as file:
            file.write(tokenizer.proto)
        vocabulary = set(tokenizer.get_vocabulary())
        tokens = {k: v for k, v in _format_special_tokens(model_type).items()
                  if v in vocabulary}
        config.update(extra_ids=tokenizer.extra_ids, **tokens)
    else:
        tokens = _save_byte_pair(tokenizer, directory, model_type, config)
    with open(os.path.join(directory, "tokenizer_config.json"), "w",
              encoding="utf-8") as file:
        json.dump(config, file, indent=2)
    with open(os.path.join(directory, "special_tokens_map.json"), "w",
              encoding="utf-8") as file:
        json.dump(tokens, file, indent=2)


def _word_piece_specials(tokenizer):
    specials = list(tokenizer.special_tokens)
    if len(specials) != len(WORD_PIECE_ROLES):
        raise ValueError(
            f"Saving a WordPiece tokenizer for Hugging Face needs the five "
            f"special tokens {list(BERT_DEFAULTS.values())} (pad, unk, cls, "
            f"sep, mask, in that order); it has {specials}."
        )
    return specials


def _save_byte_pair(tokenizer, directory, model_type, config):
    vocabulary = tokenizer.get_vocabulary()
    with open(os.path.join(directory, "vocab.json"), "w",
              encoding="utf-8") as file:
        json.dump({t: i for i, t in enumerate(vocabulary)}, file,
                  ensure_ascii=False)
    with open(os.path.join(directory, "merges.txt"), "w",
              encoding="utf-8") as file:
        file.write("#version: 0.2\n")
        file.writelines(" ".join(m.split()) + "\n" for m in tokenizer.merges)
    tokens = {
        k: v for k, v in _format_special_tokens(model_type).items()
        if v in set(vocabulary)
    }
    mask = tokens.get("mask_token")
    if mask:
        tokens["mask_token"] = {
            "content": mask, "lstrip": mask in tokenizer.lstrip_tokens,
            "rstrip": False, "normalized": False, "single_word": False,
            "special": True, "__type": "AddedToken",
        }
    config.update(add_prefix_space=bool(tokenizer.add_prefix_space),
                  **tokens)
    return tokens
