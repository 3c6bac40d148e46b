"""BERT pretraining (masked LM + next-sentence prediction) on a text corpus.

Trains a WordPiece vocabulary on the corpus (or takes --vocabulary, or the
vocabulary and weights of --init_checkpoint to continue from), builds
next-sentence pairs from its documents, pretrains a BERT with masked-LM
and next-sentence-prediction heads, reports MLM and NSP accuracy on
held-out documents (MODEL_DIR/eval.json, curves in MODEL_DIR/curves.png),
and saves the backbone and its vocabulary to MODEL_DIR/backbone, which
the other recipes take as --init_checkpoint. The corpus is plain text,
one sentence per line and a blank line between documents (local files or
glob patterns), or TFDS wikipedia with --data_dir. With no arguments it
pretrains a tiny BERT on the bundled corpus in about a minute.

    python recipes/bert_pretrain.py
    python recipes/bert_pretrain.py --config recipes/configs/pretrain_wikipedia.yaml
    python recipes/bert_classify.py --init_checkpoint runs/bert_pretrain/backbone

Rerunning with the same --model_dir resumes from its newest checkpoint.
"""

import collections
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

# Light imports only: tfzoo's subpackages (and TensorFlow) load after the
# flags are parsed, so --help and --print_config answer at once.
os.environ["TFZOO_LAZY_IMPORT"] = "1"
import tfzoo  # noqa: E402
from tfzoo.data import read_text_corpus  # noqa: E402
from tfzoo.data.tfds_loaders import DatasetNotPreparedError  # noqa: E402
from tfzoo.logs import import_tensorflow  # noqa: E402
from tfzoo.recipes.command_line import run_command  # noqa: E402
from tfzoo.recipes.config import add_common_flags, parse_config  # noqa: E402
from tfzoo.recipes.config import recipe_parser  # noqa: E402
from tfzoo.recipes.data_files import resolve_data_path  # noqa: E402
os.environ.pop("TFZOO_LAZY_IMPORT")  # not for child processes

DEFAULTS = {
    "epochs": 10,
    "batch_size": 32,
    "learning_rate": 2e-3,
    "sequence_length": 48,
    "vocabulary_size": 2000,
    "model_dir": "runs/bert_pretrain",
}
FIXED_SETTINGS = (
    "preset", "init_checkpoint", "sequence_length", "batch_size",
    "vocabulary", "vocabulary_size", "train_files", "tfds_name",
    "eval_fraction", "max_predictions", "cased", "seed", "dupe_factor",
)
SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z\"'(])")


def build_parser():
    parser = recipe_parser(__doc__)
    add_common_flags(parser, DEFAULTS)
    data = parser.add_argument_group("data")
    data.add_argument("--train_files", default="sample:pretrain_corpus.txt",
                      help="corpus files, comma-separated paths or glob "
                           "patterns: one sentence per line, a blank line "
                           "between documents; sample:NAME is a file "
                           "bundled with tfzoo (default %(default)s)")
    data.add_argument("--max_documents", type=int,
                      help="read at most this many documents (TFDS)")
    data.add_argument("--eval_fraction", type=float, default=0.1,
                      help="fraction of the documents held out to measure "
                           "MLM and NSP accuracy (default %(default)s)")
    data.add_argument("--dupe_factor", type=int, default=5,
                      help="build the training pairs this many times, each "
                           "with other random splits and partners, as "
                           "BERT's create_pretraining_data does "
                           "(default %(default)s)")
    data.add_argument("--max_predictions", type=int, default=8,
                      help="masked tokens per sequence, at most "
                           "(15%% of the tokens are chosen; default "
                           "%(default)s)")
    data.add_argument("--cased", action="store_true",
                      help="keep case and accents (default: lowercase)")
    return parser


def read_documents(args):
    """The corpus as a list of documents, each a list of sentences."""
    if args.tfds_name:
        return _wikipedia_documents(args)
    paths = [resolve_data_path(part.strip()) if not any(
        c in part for c in "*?[") else part.strip()
        for part in str(args.train_files).split(",") if part.strip()]
    if not paths:
        raise ValueError("--train_files is empty.")
    documents = read_text_corpus(paths)
    print(f"corpus: {len(documents)} documents, "
          f"{sum(len(d) for d in documents)} sentences from "
          f"{', '.join(paths)}")
    return documents


def _wikipedia_documents(args):
    """Articles of a prepared TFDS wikipedia config: paragraphs split into
    sentences at '.', '?' or '!' before a capital letter."""
    import tensorflow_datasets as tfds

    if not args.tfds_name.startswith("wikipedia"):
        raise ValueError(
            f"--tfds_name {args.tfds_name!r}: pretraining reads TFDS "
            f"wikipedia configs, e.g. wikipedia/20230601.en."
        )
    data_dir = os.path.expanduser(args.data_dir) if args.data_dir else None
    builder = tfds.builder(args.tfds_name, data_dir=data_dir)
    if not builder.is_prepared():
        raise DatasetNotPreparedError(
            f"Cannot load TFDS dataset {args.tfds_name!r}: it is not "
            f"prepared in {builder.data_dir}. Fix: on a machine with "
            f"internet, run `tfds build {args.tfds_name} "
            f"--data_dir={builder.data_dir_root}`, copy that directory here "
            f"and pass it as --data_dir; or pass local text files with "
            f"--train_files."
        )
    split = "train" if args.max_documents is None else (
        f"train[:{args.max_documents}]")
    documents = []
    for article in builder.as_dataset(split=split).as_numpy_iterator():
        text = article["text"].decode("utf-8")
        sentences = [s.strip() for paragraph in text.split("\n")
                     for s in SENTENCE_END.split(paragraph) if s.strip()]
        if len(sentences) >= 2:
            documents.append(sentences)
    print(f"corpus: {len(documents)} {args.tfds_name} articles")
    return documents


def split_documents(documents, eval_fraction, seed):
    """(training, held-out) documents: a seeded shuffle, then a cut."""
    if not 0 < eval_fraction < 1:
        raise ValueError(
            f"--eval_fraction must be between 0 and 1, got {eval_fraction}.")
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    held_out = max(2, round(eval_fraction * len(documents)))
    if len(documents) - held_out < 2:
        raise ValueError(
            f"The corpus has {len(documents)} documents; pretraining needs "
            f"at least 2 to train on and 2 to hold out. Fix: separate "
            f"documents with blank lines, or add text."
        )
    return ([documents[i] for i in order[held_out:]],
            [documents[i] for i in order[:held_out]])


def pairs_dataset(documents, tokenizer, args, seed, name, copies=1):
    """Next-sentence pairs built `copies` times with seeds seed, seed+1..."""
    x, labels = {"first": [], "second": []}, []
    for copy in range(copies):
        pairs = tfzoo.preprocessing.make_next_sentence_pairs(
            documents, tokenizer, args.sequence_length, seed=seed + copy)
        x["first"] += pairs["first"]
        x["second"] += pairs["second"]
        labels.append(pairs["next_sentence_labels"])
    labels = np.concatenate(labels)
    print(f"{name}: {len(labels)} sentence pairs ({int(labels.sum())} "
          f"consecutive; {copies} pass(es) over the documents); "
          f"{pairs['truncated_sentences']} sentences longer than a sequence "
          f"(truncated), {pairs['unpaired_sentences']} that start no pair")
    return x, labels


def most_frequent_token_rate(tokenizer, documents):
    """How often the most frequent ordinary token occurs among all tokens:
    what always guessing it scores on uniformly chosen masked tokens."""
    sentences = [s for document in documents for s in document]
    ids = tokenizer.tokenize(sentences).flat_values.numpy()
    counts = collections.Counter(ids.tolist())
    return max(counts.values()) / len(ids)


def main(argv=None):
    args = parse_config(build_parser(), argv)
    import_tensorflow()
    from tfzoo.preprocessing import BertPretrainerPreprocessor
    from tfzoo.recipes.evaluation_report import write_evaluation
    from tfzoo.recipes.initial_weights import backbone_and_tokenizer
    from tfzoo.recipes.initial_weights import save_backbone
    from tfzoo.recipes.run_directory import RunDirectory
    from tfzoo.recipes.training_run import prepare, train

    documents = read_documents(args)
    train_documents, eval_documents = split_documents(
        documents, args.eval_fraction, args.seed)
    run = RunDirectory(args.model_dir)
    run.start(vars(args), FIXED_SETTINGS)
    strategy = prepare(args)
    with strategy.scope():
        backbone, tokenizer = backbone_and_tokenizer(
            args, run, lambda: [s for d in train_documents for s in d]
        )
        preprocessor = BertPretrainerPreprocessor(
            tokenizer, sequence_length=args.sequence_length,
            max_predictions=args.max_predictions, seed=args.seed,
        )
        model = tfzoo.models.BertPretrainer(
            backbone=backbone, preprocessor=preprocessor,
        )
        model.compile(learning_rate=args.learning_rate,
                      jit_compile=not args.no_xla)
    if args.dupe_factor < 1:
        raise ValueError(f"--dupe_factor must be >= 1, got "
                         f"{args.dupe_factor}.")
    train_x, train_y = pairs_dataset(train_documents, tokenizer, args,
                                     args.seed, "training", args.dupe_factor)
    eval_x, eval_y = pairs_dataset(eval_documents, tokenizer, args,
                                   args.seed, "held out", args.dupe_factor)

    train(model, run, args, train_x, train_y, validation_data=(eval_x, eval_y))

    scores = model.evaluate(eval_x, eval_y, batch_size=args.batch_size,
                            verbose=0, return_dict=True)
    results = {
        "mlm_accuracy": float(scores["mlm_accuracy"]),
        "nsp_accuracy": float(scores["nsp_accuracy"]),
        "loss": float(scores["loss"]),
        "chance_mlm_accuracy": most_frequent_token_rate(tokenizer,
                                                        eval_documents),
        "chance_nsp_accuracy": float(max(np.mean(eval_y),
                                         1 - np.mean(eval_y))),
        "held_out_pairs": len(eval_y),
        "held_out_documents": len(eval_documents),
    }
    write_evaluation(run.evaluation_path, results,
                     title="evaluation on held-out documents")
    print(f"evaluation written to {run.evaluation_path}")

    backbone_dir = save_backbone(backbone, tokenizer, run.path("backbone"))
    print(f"backbone saved to {os.path.abspath(backbone_dir)} "
          f"(backbone.keras, vocab.txt, tokenizer.json)")
    print("It is not a servable model itself; fine-tune it, and the recipe "
          "you run exports and prints its serve and query commands:")
    for recipe in ("bert_classify", "bert_ner", "bert_qa"):
        print(f"  python recipes/{recipe}.py --init_checkpoint "
              f"{os.path.abspath(backbone_dir)} --sequence_length "
              f"{min(args.sequence_length, backbone.max_sequence_length)}")
    return results


if __name__ == "__main__":
    sys.exit(run_command(main))
