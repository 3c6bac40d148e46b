"""The backbone and tokenizer a recipe starts from.

Either a random-init preset with a WordPiece vocabulary (given, or
trained on the training text and kept in the run directory), or the
backbone and vocabulary of `--init_checkpoint`:

- a directory written by `recipes/bert_pretrain.py` (`save_backbone`):
  `backbone.keras`, `vocab.txt` and `tokenizer.json`;
- a Hugging Face BERT directory (`config.json`, weights, `vocab.txt`),
  read by `BertBackbone.from_pretrained` and `tfzoo.convert`.

Encoder-decoder recipes start from a whole task model instead
(`load_seq2seq_checkpoint`): a Hugging Face T5 / T5 v1.1 / mT5
directory, or a tfzoo directory holding `model.keras`.
"""

import json
import os

import keras

from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.tokenizers.word_piece_tokenizer import WordPieceTokenizer
from tfzoo.tokenizers.word_piece_vocabulary import train_word_piece_vocabulary

BACKBONE_FILE = "backbone.keras"
MODEL_FILE = "model.keras"
VOCABULARY_FILE = "vocab.txt"
TOKENIZER_FILE = "tokenizer.json"


def save_backbone(backbone, tokenizer, directory):
    """Writes what `--init_checkpoint` reads; returns the directory.

    >>> import tempfile
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]
    >>> backbone = BertBackbone.from_preset(
    ...     "bert_tiny", vocabulary_size=6, max_sequence_length=16)
    >>> path = save_backbone(backbone, WordPieceTokenizer(vocabulary),
    ...                      tempfile.mkdtemp())
    >>> loaded, tokenizer = load_initial_checkpoint(path)
    >>> loaded.hidden_dim, tokenizer.vocabulary_size
    (128, 6)
    """
    os.makedirs(directory, exist_ok=True)
    backbone.save(os.path.join(directory, BACKBONE_FILE))
    with open(os.path.join(directory, VOCABULARY_FILE), "w",
              encoding="utf-8") as file:
        file.write("\n".join(tokenizer.vocabulary) + "\n")
    with open(os.path.join(directory, TOKENIZER_FILE), "w",
              encoding="utf-8") as file:
        json.dump({"lowercase": tokenizer.lowercase,
                   "strip_accents": tokenizer.strip_accents}, file)
    return directory


def load_initial_checkpoint(path):
    """`(backbone, tokenizer)` from an `--init_checkpoint` directory."""
    if not os.path.isdir(path):
        raise FileNotFoundError(
            f"--init_checkpoint {path!r} is not a directory. Fix: pass the "
            f"directory recipes/bert_pretrain.py saved its backbone to (it "
            f"prints it), or a Hugging Face BERT directory."
        )
    vocabulary = os.path.join(path, VOCABULARY_FILE)
    if os.path.exists(os.path.join(path, BACKBONE_FILE)):
        backbone = keras.saving.load_model(os.path.join(path, BACKBONE_FILE))
        options = {}
        if os.path.exists(os.path.join(path, TOKENIZER_FILE)):
            with open(os.path.join(path, TOKENIZER_FILE),
                      encoding="utf-8") as file:
                options = json.load(file)
        return backbone, WordPieceTokenizer(vocabulary, **options)
    if os.path.exists(os.path.join(path, "config.json")):
        return _load_hugging_face(path, vocabulary)
    raise FileNotFoundError(
        f"--init_checkpoint {path!r} holds neither {BACKBONE_FILE} (a tfzoo "
        f"backbone from recipes/bert_pretrain.py) nor config.json (a Hugging "
        f"Face checkpoint)."
    )


def _load_hugging_face(path, vocabulary):
    from tfzoo.convert.hf_tokenizer import load_tokenizer

    tokenizer = load_tokenizer(path)
    if not isinstance(tokenizer, WordPieceTokenizer):
        raise NotImplementedError(
            f"--init_checkpoint {path!r} has a {type(tokenizer).__name__}; "
            f"the BERT recipes pack [CLS] ... [SEP] with a WordPiece "
            f"tokenizer (BERT-family checkpoints)."
        )
    return BertBackbone.from_pretrained(path), tokenizer


def backbone_and_tokenizer(args, run, training_texts):
    """The recipe's starting backbone and tokenizer, from its settings.

    Without `--init_checkpoint`: the `--preset` backbone, randomly
    initialised, sized to the vocabulary and `--sequence_length`. The
    vocabulary is `--vocabulary`, or the one this run directory already
    holds (a resumed run keeps its ids), or one trained now on
    `training_texts()`.
    """
    lowercase = not getattr(args, "cased", False)
    if args.init_checkpoint:
        backbone, tokenizer = load_initial_checkpoint(args.init_checkpoint)
        if backbone.max_sequence_length < args.sequence_length:
            raise ValueError(
                f"--sequence_length {args.sequence_length} is longer than "
                f"the {backbone.max_sequence_length} positions of the "
                f"--init_checkpoint backbone. Fix: pass --sequence_length "
                f"{backbone.max_sequence_length} or less."
            )
        print(f"backbone: {args.init_checkpoint} ({backbone.num_layers} "
              f"layers, hidden {backbone.hidden_dim}, vocabulary "
              f"{backbone.vocabulary_size})")
        return backbone, tokenizer
    saved = run.path(VOCABULARY_FILE)
    if args.vocabulary:
        vocabulary = args.vocabulary
    elif os.path.exists(saved) and run.resumed_step:
        vocabulary = saved
    else:
        train_word_piece_vocabulary(
            training_texts(), args.vocabulary_size, lowercase=lowercase,
            output_path=saved,
        )
        vocabulary = saved
    tokenizer = WordPieceTokenizer(vocabulary, lowercase=lowercase)
    backbone = BertBackbone.from_preset(
        args.preset,
        vocabulary_size=tokenizer.vocabulary_size,
        max_sequence_length=args.sequence_length,
    )
    print(f"backbone: {args.preset}, random init ({backbone.num_layers} "
          f"layers, hidden {backbone.hidden_dim}); vocabulary "
          f"{tokenizer.vocabulary_size} WordPiece tokens ({vocabulary})")
    return backbone, tokenizer


def load_seq2seq_checkpoint(path, task_class, preprocessor_class,
                            **preprocessor_options):
    """`task_class` (e.g. `T5Seq2SeqLM`) with weights and tokenizer from an
    `--init_checkpoint` directory, and a fresh `preprocessor_class`
    around that tokenizer (`preprocessor_options`: its sequence lengths).

    The directory is either a Hugging Face checkpoint (`config.json`,
    weights, the tokenizer's files, e.g. `spiece.model`), read by
    `task_class.from_pretrained`, or a tfzoo one holding `model.keras`: a
    `task_class` saved with its tokenizer (as `recipes/t5_translate.py`
    saves to its run directory; a pretraining recipe would write the
    same).
    """
    if not os.path.isdir(path):
        raise FileNotFoundError(
            f"--init_checkpoint {path!r} is not a directory. Fix: pass a "
            f"Hugging Face checkpoint directory (config.json, weights, "
            f"tokenizer files) or a tfzoo directory holding {MODEL_FILE}."
        )
    name = task_class.__name__
    if os.path.exists(os.path.join(path, MODEL_FILE)):
        model = keras.saving.load_model(os.path.join(path, MODEL_FILE))
        if not isinstance(model, task_class):
            raise ValueError(
                f"--init_checkpoint {path!r}: {MODEL_FILE} holds a "
                f"{type(model).__name__}, not a {name}.")
        if model.tokenizer is None:
            raise ValueError(
                f"--init_checkpoint {path!r}: the {name} in {MODEL_FILE} "
                f"was saved without a tokenizer. Fix: save it with its "
                f"preprocessor or tokenizer.")
        tokenizer = model.tokenizer
        backbone = model.backbone
        model = task_class(backbone, preprocessor=preprocessor_class(
            tokenizer, **preprocessor_options))
        return model
    if os.path.exists(os.path.join(path, "config.json")):
        from tfzoo.convert.hf_tokenizer import load_tokenizer

        tokenizer = load_tokenizer(path)
        return task_class.from_pretrained(
            path, progress=False,
            preprocessor=preprocessor_class(tokenizer,
                                            **preprocessor_options))
    raise FileNotFoundError(
        f"--init_checkpoint {path!r} holds neither {MODEL_FILE} (a tfzoo "
        f"{name}) nor config.json (a Hugging Face checkpoint)."
    )
