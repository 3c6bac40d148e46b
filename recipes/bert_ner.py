"""BERT named-entity recognition, from CoNLL data to a served model.

Fine-tunes a BERT token classifier (from a preset, or from
--init_checkpoint) on CoNLL files (one `word TAG` per line, BIO tags, a
blank line between sentences) or TFDS conll2003, reports entity-level
precision, recall and F1 on whole entity spans (as seqeval does: an entity
counts only if its type and both ends are right), writes them to
MODEL_DIR/eval.json with training curves in MODEL_DIR/curves.png, and
exports a SavedModel for TensorFlow Serving that takes raw text and
returns the entities with their character offsets. With no arguments it
trains on the bundled NER sample in about a minute.

    python recipes/bert_ner.py
    python recipes/bert_ner.py --config recipes/configs/ner_conll2003.yaml

Rerunning with the same --model_dir resumes from its newest checkpoint.
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

# Light imports only: tfzoo's subpackages (and TensorFlow) load after the
# flags are parsed, so --help and --print_config answer at once.
os.environ["TFZOO_LAZY_IMPORT"] = "1"
import tfzoo  # noqa: E402
from tfzoo.data import load_tfds, read_conll, tfds_label_names  # noqa: E402
from tfzoo.logs import import_tensorflow  # noqa: E402
from tfzoo.recipes.command_line import run_command  # noqa: E402
from tfzoo.recipes.config import add_common_flags, parse_config  # noqa: E402
from tfzoo.recipes.config import recipe_parser  # noqa: E402
from tfzoo.recipes.data_files import check_labels  # noqa: E402
from tfzoo.recipes.data_files import parse_label_names  # noqa: E402
from tfzoo.recipes.data_files import resolve_data_path  # noqa: E402
from tfzoo.recipes.serving_commands import serving_footer  # noqa: E402
os.environ.pop("TFZOO_LAZY_IMPORT")  # not for child processes

DEFAULTS = {
    "epochs": 5,
    "batch_size": 32,
    "learning_rate": 2e-3,
    "sequence_length": 48,
    "model_dir": "runs/bert_ner",
}
FIXED_SETTINGS = (
    "preset", "init_checkpoint", "sequence_length", "batch_size",
    "vocabulary", "vocabulary_size", "train_file", "label_names",
    "tfds_name", "train_split", "cased",
)


def build_parser():
    parser = recipe_parser(__doc__)
    add_common_flags(parser, DEFAULTS)
    data = parser.add_argument_group("data")
    data.add_argument("--train_file", default="sample:ner_train.conll",
                      help="CoNLL training file; sample:NAME is a file "
                           "bundled with tfzoo (default %(default)s)")
    data.add_argument("--eval_file", default="sample:ner_test.conll",
                      help="CoNLL evaluation file (default %(default)s)")
    data.add_argument("--token_column", type=int, default=0,
                      help="column of the word (default %(default)s)")
    data.add_argument("--tag_column", type=int, default=-1,
                      help="column of the BIO tag (default %(default)s, "
                           "the last)")
    data.add_argument("--label_names",
                      help="comma-separated tag set, e.g. O,B-PER,I-PER "
                           "(default: O, then B- and I- of every entity "
                           "type in the training data)")
    data.add_argument("--train_split", default="train",
                      help="TFDS split to train on (default %(default)s)")
    data.add_argument("--eval_split", default="test",
                      help="TFDS split to evaluate on (default %(default)s)")
    data.add_argument("--uncased", dest="cased", action="store_false",
                      help="lowercase the text (default: keep case, which "
                           "helps to find names)")
    parser.add_argument("--serving_name", default="ner",
                        help="model name in the serve and query commands "
                             "(default %(default)s)")
    return parser


def read_data(args):
    """`(train, eval, label_names)`; each split a dict of `words` (lists
    of words), `tags` (lists of tag names) and `tag_ids`."""
    if args.tfds_name:
        return _read_tfds(args)
    splits = []
    for path in (args.train_file, args.eval_file):
        path = resolve_data_path(path)
        sentences, tags, report = read_conll(
            path, args.token_column, args.tag_column
        )
        print(report.summary())
        splits.append((path, {"words": sentences, "tags": tags},
                       report.lines))
    label_names = parse_label_names(args.label_names) or tag_set(
        splits[0][1]["tags"])
    for path, examples, lines in splits:
        examples["tag_ids"] = [
            check_labels(sentence_tags, label_names, path, sentence_lines,
                         what="tag")
            for sentence_tags, sentence_lines in zip(examples["tags"], lines)
        ]
    return splits[0][1], splits[1][1], label_names


def tag_set(tags):
    """O, then B- and I- of each entity type, types sorted."""
    types = sorted({tag[2:] for sentence in tags for tag in sentence
                    if tag != "O"})
    if not types:
        raise ValueError("The training data has no entities (only O tags).")
    return ["O"] + [f"{prefix}-{name}" for name in types
                    for prefix in ("B", "I")]


def _read_tfds(args):
    if args.tfds_name != "conll2003":
        raise ValueError(
            f"--tfds_name {args.tfds_name!r} is not a tagging set; use "
            f"conll2003."
        )
    data_dir = os.path.expanduser(args.data_dir) if args.data_dir else None
    label_names = tfds_label_names("conll2003", data_dir)
    splits = []
    for split in (args.train_split, args.eval_split):
        examples = {"words": [], "tags": []}
        for example in load_tfds("conll2003", split,
                                 data_dir).as_numpy_iterator():
            examples["words"].append(
                [word.decode("utf-8") for word in example["tokens"]])
            examples["tags"].append(
                [tag.decode("utf-8") for tag in example["tags"]])
        print(f"conll2003 {split}: {len(examples['words'])} sentences")
        examples["tag_ids"] = [
            check_labels(tags, label_names, f"conll2003 {split}", None, "tag")
            for tags in examples["tags"]
        ]
        splits.append(examples)
    return splits[0], splits[1], label_names


def predict_tags(model, words, batch_size):
    """Per-word tag names; words past `sequence_length` get "O" and are
    counted as `truncated_words`."""
    import tensorflow as tf

    preprocessor = model.preprocessor
    logits = model.predict(words, batch_size=batch_size, verbose=0)
    word_ids = preprocessor.word_ids(tf.ragged.constant(words))
    predicted = preprocessor.word_predictions(logits, word_ids).to_list()
    names = preprocessor.label_names
    tags, truncated = [], 0
    for sentence, ids in zip(words, predicted):
        truncated += len(sentence) - len(ids)
        tags.append([names[i] for i in ids]
                    + ["O"] * (len(sentence) - len(ids)))
    return tags, truncated


def random_tagger_baseline(train_tags, eval_tags, seed=0):
    """Entity scores of tags drawn at random with the training tags'
    frequencies: the chance level."""
    rng = random.Random(seed)
    pool = [tag for sentence in train_tags for tag in sentence]
    guesses = [[rng.choice(pool) for _ in sentence] for sentence in eval_tags]
    return tfzoo.metrics.entity_metrics(eval_tags, guesses)


def main(argv=None):
    args = parse_config(build_parser(), argv)
    import_tensorflow()
    from tfzoo.export import export_saved_model
    from tfzoo.preprocessing import BertTokenClassifierPreprocessor
    from tfzoo.recipes.evaluation_report import write_evaluation
    from tfzoo.recipes.evaluation_report import write_predictions
    from tfzoo.recipes.initial_weights import backbone_and_tokenizer
    from tfzoo.recipes.run_directory import RunDirectory
    from tfzoo.recipes.training_run import prepare, train

    train_data, eval_data, label_names = read_data(args)
    print(f"data: {len(train_data['words'])} training and "
          f"{len(eval_data['words'])} evaluation sentences, tags "
          f"{label_names}")
    run = RunDirectory(args.model_dir)
    run.start(vars(args), FIXED_SETTINGS)
    strategy = prepare(args)
    with strategy.scope():
        backbone, tokenizer = backbone_and_tokenizer(
            args, run, lambda: [" ".join(s) for s in train_data["words"]]
        )
        preprocessor = BertTokenClassifierPreprocessor(
            tokenizer, sequence_length=args.sequence_length,
            label_names=label_names,
        )
        model = tfzoo.models.BertTokenClassifier(
            backbone=backbone, num_classes=len(label_names),
            preprocessor=preprocessor,
        )
        model.compile(learning_rate=args.learning_rate,
                      jit_compile=not args.no_xla)

    train(model, run, args, train_data["words"], train_data["tag_ids"],
          validation_data=(eval_data["words"], eval_data["tag_ids"]))

    predicted, truncated = predict_tags(model, eval_data["words"],
                                        args.batch_size)
    results = tfzoo.metrics.entity_metrics(eval_data["tags"], predicted)
    chance = random_tagger_baseline(train_data["tags"], eval_data["tags"],
                                    args.seed)
    results["chance_f1"] = chance["f1"]
    results["truncated_words"] = truncated
    results["num_sentences"] = len(eval_data["words"])
    results["token_accuracy"] = float(np.mean([
        gold == guess
        for gold_tags, guessed in zip(eval_data["tags"], predicted)
        for gold, guess in zip(gold_tags, guessed)
    ]))
    write_evaluation(run.evaluation_path, results,
                     title="evaluation (entity level, as seqeval)")
    if truncated:
        print(f"note: {truncated} words fell past --sequence_length "
              f"{args.sequence_length} and were scored as O")
    write_predictions(run.predictions_path, [
        {"words": words, "tags": tags, "predicted": guess}
        for words, tags, guess in zip(eval_data["words"], eval_data["tags"],
                                      predicted)
    ])
    print(f"evaluation written to {run.evaluation_path} (per sentence: "
          f"{run.predictions_path})")

    export_dir = args.export_dir or run.path("export")
    export_path = export_saved_model(model, export_dir, verbose=True)
    query = ["--text", " ".join(eval_data["words"][0])]
    print(serving_footer(export_path, args.serving_name, query))
    return results


if __name__ == "__main__":
    sys.exit(run_command(main))
