"""BERT extractive question answering, from SQuAD data to a served model.

Fine-tunes a BERT question answerer (from a preset, or from
--init_checkpoint) on SQuAD-format JSON or TFDS squad, reports exact match
and F1 with SQuAD's answer normalisation (lowercase, no punctuation, no
a/an/the, single spaces; the best over each question's gold answers),
writes them to MODEL_DIR/eval.json with training curves in
MODEL_DIR/curves.png, and exports a SavedModel for TensorFlow Serving that
takes a question and a context and returns the answer text and its
character offsets. With no arguments it trains on the bundled QA sample
in a minute or two.

    python recipes/bert_qa.py
    python recipes/bert_qa.py --config recipes/configs/qa_squad.yaml

Rerunning with the same --model_dir resumes from its newest checkpoint.
"""

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Light imports only: tfzoo's subpackages (and TensorFlow) load after the
# flags are parsed, so --help and --print_config answer at once.
os.environ["TFZOO_LAZY_IMPORT"] = "1"
import tfzoo  # noqa: E402
from tfzoo.data import ReadReport, load_tfds, read_squad  # noqa: E402
from tfzoo.logs import import_tensorflow  # noqa: E402
from tfzoo.recipes.command_line import run_command  # noqa: E402
from tfzoo.recipes.config import add_common_flags, parse_config  # noqa: E402
from tfzoo.recipes.config import recipe_parser  # noqa: E402
from tfzoo.recipes.data_files import resolve_data_path  # noqa: E402
from tfzoo.recipes.serving_commands import serving_footer  # noqa: E402
os.environ.pop("TFZOO_LAZY_IMPORT")  # not for child processes

DEFAULTS = {
    "epochs": 15,
    "batch_size": 16,
    "learning_rate": 1e-3,
    "sequence_length": 64,
    "vocabulary_size": 300,
    "model_dir": "runs/bert_qa",
}
FIXED_SETTINGS = (
    "preset", "init_checkpoint", "sequence_length", "batch_size",
    "vocabulary", "vocabulary_size", "train_file", "tfds_name",
    "train_split", "doc_stride", "cased",
)


def build_parser():
    parser = recipe_parser(__doc__)
    add_common_flags(parser, DEFAULTS)
    data = parser.add_argument_group("data")
    data.add_argument("--train_file", default="sample:qa_train.json",
                      help="SQuAD-format training file; sample:NAME is a "
                           "file bundled with tfzoo (default %(default)s)")
    data.add_argument("--eval_file", default="sample:qa_test.json",
                      help="SQuAD-format evaluation file "
                           "(default %(default)s)")
    data.add_argument("--train_split", default="train",
                      help="TFDS split to train on (default %(default)s)")
    data.add_argument("--eval_split", default="validation",
                      help="TFDS split to evaluate on (default %(default)s)")
    data.add_argument("--doc_stride", type=int, default=24,
                      help="tokens between the starts of a long context's "
                           "windows (default %(default)s)")
    data.add_argument("--max_answer_length", type=int, default=30,
                      help="longest answer, in tokens (default %(default)s)")
    data.add_argument("--cased", action="store_true",
                      help="keep case and accents (default: lowercase)")
    parser.add_argument("--serving_name", default="qa",
                        help="model name in the serve and query commands "
                             "(default %(default)s)")
    return parser


def read_data(args):
    """`(train, eval, reports)`: lists of SQuAD example dicts (`question`,
    `context`, `answers`), and what was skipped, per file."""
    if args.tfds_name:
        return _read_tfds(args)
    splits, reports = [], []
    for path in (args.train_file, args.eval_file):
        path = resolve_data_path(path)
        examples, report = read_squad(path)
        answerable = []
        for example in examples:
            if example["answers"]:
                answerable.append(example)
            else:
                report.skip(example["id"], "unanswerable (is_impossible); "
                            "this recipe trains SQuAD v1.1-style answers")
        report.kept = len(answerable)
        if not answerable:
            raise ValueError(
                f"{path}: no answerable questions left ({report.num_skipped}"
                f" skipped; the first: {report.skipped[0][1]})."
            )
        print(report.summary())
        splits.append(answerable)
        reports.append(report)
    return splits[0], splits[1], reports


def _read_tfds(args):
    if args.tfds_name != "squad":
        raise ValueError(
            f"--tfds_name {args.tfds_name!r} is not a QA set; use squad."
        )
    data_dir = os.path.expanduser(args.data_dir) if args.data_dir else None
    splits, reports = [], []
    for split in (args.train_split, args.eval_split):
        examples = []
        for example in load_tfds("squad", split,
                                 data_dir).as_numpy_iterator():
            examples.append({
                "id": example["id"].decode("utf-8"),
                "question": example["question"].decode("utf-8"),
                "context": example["context"].decode("utf-8"),
                "answers": [
                    {"text": text.decode("utf-8"), "answer_start": int(start)}
                    for text, start in zip(example["answer_texts"],
                                           example["answer_starts"])
                ],
            })
        print(f"squad {split}: {len(examples)} questions")
        splits.append(examples)
        reports.append(ReadReport(f"squad {split}", kept=len(examples)))
    return splits[0], splits[1], reports


def inputs_and_labels(examples):
    x = {"question": [e["question"] for e in examples],
         "context": [e["context"] for e in examples]}
    y = {"answer_start": [e["answers"][0]["answer_start"] for e in examples],
         "answer_text": [e["answers"][0]["text"] for e in examples]}
    return x, y


def random_span_baseline(examples, seed=0):
    """SQuAD scores of random answers: spans of the gold answer's number of
    words, at a random word of the context: the chance level."""
    rng = random.Random(seed)
    guesses = []
    for example in examples:
        words = example["context"].split()
        length = min(len(example["answers"][0]["text"].split()), len(words))
        start = rng.randrange(len(words) - length + 1)
        guesses.append(" ".join(words[start:start + length]))
    return tfzoo.metrics.squad_metrics(
        guesses, [[a["text"] for a in e["answers"]] for e in examples])


def main(argv=None):
    args = parse_config(build_parser(), argv)
    import_tensorflow()
    from tfzoo.export import export_saved_model
    from tfzoo.preprocessing import BertQuestionAnswererPreprocessor
    from tfzoo.recipes.evaluation_report import write_evaluation
    from tfzoo.recipes.evaluation_report import write_predictions
    from tfzoo.recipes.initial_weights import backbone_and_tokenizer
    from tfzoo.recipes.run_directory import RunDirectory
    from tfzoo.recipes.training_run import prepare, train

    train_data, eval_data, reports = read_data(args)
    print(f"data: {len(train_data)} training and {len(eval_data)} "
          f"evaluation questions")
    run = RunDirectory(args.model_dir)
    run.start(vars(args), FIXED_SETTINGS)
    strategy = prepare(args)
    with strategy.scope():
        backbone, tokenizer = backbone_and_tokenizer(
            args, run, lambda: [e["question"] for e in train_data]
            + sorted({e["context"] for e in train_data})
        )
        preprocessor = BertQuestionAnswererPreprocessor(
            tokenizer, sequence_length=args.sequence_length,
            doc_stride=args.doc_stride,
        )
        model = tfzoo.models.BertQuestionAnswerer(
            backbone=backbone, preprocessor=preprocessor,
        )
        model.compile(learning_rate=args.learning_rate,
                      jit_compile=not args.no_xla)

    train_x, train_y = inputs_and_labels(train_data)
    train(model, run, args, train_x, train_y,
          validation_data=inputs_and_labels(eval_data))

    answers = model.predict_answers(
        [e["question"] for e in eval_data], [e["context"] for e in eval_data],
        max_answer_length=args.max_answer_length,
        batch_size=args.batch_size,
    )
    predictions = [str(text) for text in answers["answer_text"]]
    results = tfzoo.metrics.squad_metrics(
        predictions, [[a["text"] for a in e["answers"]] for e in eval_data]
    )
    baseline = random_span_baseline(eval_data, args.seed)
    results["chance_exact_match"] = baseline["exact_match"]
    results["chance_f1"] = baseline["f1"]
    results["skipped_questions"] = sum(r.num_skipped for r in reports)
    write_evaluation(run.evaluation_path, results,
                     title="evaluation (SQuAD normalisation)")
    for example, prediction in list(zip(eval_data, predictions))[:3]:
        print(f"  Q: {example['question']}\n     predicted {prediction!r}, "
              f"gold {example['answers'][0]['text']!r}")
    write_predictions(run.predictions_path, [
        {"id": e["id"], "question": e["question"], "predicted": prediction,
         "answer_start": int(start), "answers": [a["text"]
                                                 for a in e["answers"]]}
        for e, prediction, start in zip(eval_data, predictions,
                                        answers["answer_start"])
    ])
    print(f"evaluation written to {run.evaluation_path} (per question: "
          f"{run.predictions_path})")
    for report in reports:
        if report.num_skipped:
            print("skipped while reading:\n" + report.summary())

    export_dir = args.export_dir or run.path("export")
    export_path = export_saved_model(
        model, export_dir, max_answer_length=args.max_answer_length,
        verbose=True,
    )
    # JSON lists: the signature takes a batch of questions and contexts.
    query = ["--input", "question=" + json.dumps([eval_data[0]["question"]]),
             "--input", "context=" + json.dumps([eval_data[0]["context"]])]
    print(serving_footer(export_path, args.serving_name, query))
    return results


if __name__ == "__main__":
    sys.exit(run_command(main))
