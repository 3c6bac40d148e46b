"""The backbone and tokenizer a recipe starts from.

Either a random-init preset with a WordPiece vocabulary (given, or
trained on the training text and kept in the run directory), or the
backbone and vocabulary of `--init_checkpoint`:

- a directory written by `recipes/bert_pretrain.py` (`save_backbone`):
  `backbone.keras`, `vocab.txt` and `tokenizer.json`;
- a Hugging Face BERT directory (`config.json`, weights, `vocab.txt`),
  read by `BertBackbone.from_pretrained` and `tfzoo.convert`.
"""

import json
import os

import keras

from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.tokenizers.word_piece_tokenizer import WordPieceTokenizer
from tfzoo.tokenizers.word_piece_vocabulary import train_word_piece_vocabulary

BACKBONE_FILE = "backbone.keras"
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
