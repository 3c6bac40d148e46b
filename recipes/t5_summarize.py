"""Abstractive summarisation with T5, from documents to a served summariser.

Fine-tunes a T5 encoder-decoder (a preset from scratch, with a
SentencePiece vocabulary trained on the training data; or
--init_checkpoint: a Hugging Face T5, T5 v1.1, Flan-T5 or mT5 directory,
or a directory holding the model.keras of a t5_summarize or t5_translate
run) to write the summary of a document, the document starting with a
task prefix ("summarize: "). Before and after training it summarises the
held-out documents with beam search and scores the summaries with
ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum F-measures (the rouge-score
package, stemming on) and their mean length in words, next to the lead
baseline the recipe computes itself: the document's first sentence as
its summary. It writes MODEL_DIR/eval.json, predictions.jsonl (source,
reference, hypothesis) and curves.png, and exports a SavedModel whose
`serving_default` (greedy) and `generate` (sampling or beam search, per
request) signatures TF Serving answers with the summary. With no
arguments it trains a tiny model from scratch on the bundled sample of
short local news reports with their headlines (written by
scripts/make_summarization_samples.py; a headline is none of the
report's sentences) in a few minutes on 2 CPU cores: see README.md for
the figures.

    python recipes/t5_summarize.py
    python recipes/t5_summarize.py --init_checkpoint T5_SMALL_DIR \\
        --tfds_name cnn_dailymail --data_dir ~/tensorflow_datasets \\
        --sequence_length 512 --target_sequence_length 128 \\
        --max_train_examples 100000 --max_eval_examples 1000
    python recipes/t5_summarize.py --train_file train.jsonl \\
        --eval_file dev.jsonl --preset t5_small --vocabulary_size 16000

Files are JSONL, CSV or TSV with `document` and `summary` columns
(--document_column, --summary_column for others). TFDS sets (prepared
in --data_dir; nothing is downloaded): cnn_dailymail, gigaword,
billsum, xsum. Served requests carry the task prefix, as T5 expects.
Rerunning with the same --model_dir resumes from its newest checkpoint.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Light imports only: tfzoo's subpackages (and TensorFlow) load after the
# flags are parsed, so --help and --print_config answer at once.
os.environ["TFZOO_LAZY_IMPORT"] = "1"
import tfzoo  # noqa: E402,F401
from tfzoo.data import load_tfds, read_summarization_file  # noqa: E402
from tfzoo.data.tfds_loaders import SUMMARIZATION_FEATURES  # noqa: E402
from tfzoo.recipes.command_line import run_command  # noqa: E402
from tfzoo.recipes.config import parse_config, recipe_parser  # noqa: E402
from tfzoo.recipes.data_files import resolve_data_path  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import MODEL_SETTINGS  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import add_seq2seq_flags  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import add_split_flags  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import check_settings  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import count_truncated  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import finish_run  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import generate_texts  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import start_run  # noqa: E402
os.environ.pop("TFZOO_LAZY_IMPORT")  # not for child processes

DEFAULTS = {
    "epochs": 10,
    "batch_size": 16,
    "learning_rate": None,
    "sequence_length": 80,
    "target_sequence_length": 24,
    "vocabulary_size": 600,
    "model_dir": "runs/t5_summarize",
}
# Settings a resumed run must share with the checkpoints' run.
FIXED_SETTINGS = MODEL_SETTINGS + (
    "train_file", "tfds_name", "train_split", "max_train_examples",
    "document_column", "summary_column",
)


def build_parser():
    parser = recipe_parser(__doc__)
    add_seq2seq_flags(parser, DEFAULTS, target="summary")
    data = parser.add_argument_group("data")
    data.add_argument("--train_file",
                      default="sample:summarization_train.jsonl",
                      help="training documents and summaries, .jsonl, .csv "
                           "or .tsv; sample:NAME is a file bundled with "
                           "tfzoo (default %(default)s)")
    data.add_argument("--eval_file", default="sample:summarization_test.jsonl",
                      help="held-out documents for ROUGE, the same format "
                           "(default %(default)s)")
    data.add_argument("--document_column", default="document",
                      help="the files' document column (default "
                           "%(default)s)")
    data.add_argument("--summary_column", default="summary",
                      help="the files' summary column (default %(default)s)")
    data.add_argument("--tfds_name", choices=sorted(SUMMARIZATION_FEATURES),
                      help="read a TFDS summarisation set instead of the "
                           "files (prepared in --data_dir; nothing is "
                           "downloaded)")
    add_split_flags(data, examples="documents",
                    largest="cnn_dailymail has 287,113")
    data.add_argument("--task_prefix", default="summarize: ",
                      help="text put before every document (default "
                           "%(default)r, T5's own)")
    parser.add_argument("--serving_name", default="summarize",
                        help="model name in the serve and query commands "
                             "(default %(default)s)")
    return parser


def read_documents(args):
    """`(train, evaluation)`, each `{"documents", "summaries"}` lists."""
    if args.tfds_name:
        return tuple(_tfds_documents(args, split, limit) for split, limit in (
            (args.train_split, args.max_train_examples),
            (args.eval_split, args.max_eval_examples)))
    splits = []
    for path, limit in ((args.train_file, args.max_train_examples),
                        (args.eval_file, args.max_eval_examples)):
        data, report = read_summarization_file(
            resolve_data_path(path), args.document_column,
            args.summary_column)
        print(report.summary())
        splits.append({key: values[:limit] for key, values in data.items()})
    return tuple(splits)


def _tfds_documents(args, split, limit):
    data_dir = os.path.expanduser(args.data_dir) if args.data_dir else None
    data = {"documents": [], "summaries": []}
    skipped = 0
    for example in load_tfds(args.tfds_name, split,
                             data_dir).as_numpy_iterator():
        document, summary = (example[key].decode("utf-8")
                             for key in ("document", "summary"))
        if not document.strip() or not summary.strip():
            skipped += 1
            continue
        data["documents"].append(document)
        data["summaries"].append(summary)
        if limit and len(data["documents"]) >= limit:
            break
    print(f"{args.tfds_name} {split}: kept {len(data['documents'])}, "
          f"skipped {skipped} with an empty document or summary")
    if not data["documents"]:
        raise ValueError(
            f"{args.tfds_name} split {split!r} has no documents with a "
            f"summary. Fix: pass another --train_split / --eval_split.")
    return data


def lead_sentence(document):
    """The document's first sentence: the lead baseline's summary.

    >>> lead_sentence("Rain fell on Monday. Roads shut.")
    'Rain fell on Monday.'
    """
    from tfzoo.metrics.rouge import sentences_on_lines

    return sentences_on_lines(document).split("\n")[0]


def evaluate(summaries, references):
    """ROUGE F-measures (0-100) and the mean length in words."""
    from tfzoo.metrics.rouge import mean_words, rouge

    scores = rouge(summaries, references)
    scores["mean_words"] = mean_words(summaries)
    return scores


def describe(scores):
    from tfzoo.metrics.rouge import ROUGE_TYPES

    return ", ".join([f"{name} {scores[name]:.2f}" for name in ROUGE_TYPES]
                     + [f"{scores['mean_words']:.1f} words"])


def main(argv=None):
    args = parse_config(build_parser(), argv)
    check_settings(args)
    train_data, eval_data = read_documents(args)
    prefix = args.task_prefix
    print(f"data: {len(train_data['documents'])} training and "
          f"{len(eval_data['documents'])} held-out documents; task prefix "
          f"{prefix!r}")
    sources = [prefix + text for text in train_data["documents"]]
    eval_sources = [prefix + text for text in eval_data["documents"]]
    references = eval_data["summaries"]

    model, run = start_run(args, sources, train_data["summaries"],
                           FIXED_SETTINGS)
    from tfzoo.recipes.training_run import train

    truncated = count_truncated(model, train_data["summaries"], args,
                                what="summaries")
    results = {"lead_baseline": evaluate(
        [lead_sentence(text) for text in eval_data["documents"]],
        references)}
    results["reference_mean_words"] = evaluate(
        references, references)["mean_words"]
    print(f"lead baseline (first sentence): "
          f"{describe(results['lead_baseline'])}")
    results["before"] = evaluate(
        generate_texts(model, eval_sources, args), references)
    print(f"before training: {describe(results['before'])}")
    train(model, run, args, sources, train_data["summaries"],
          validation_data=(eval_sources, references))
    hypotheses = generate_texts(model, eval_sources, args)
    results["after"] = evaluate(hypotheses, references)
    print(f"after training: {describe(results['after'])} (references "
          f"{results['reference_mean_words']:.1f} words)")
    results.update(
        num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
        num_training_documents=len(sources),
        num_eval_documents=len(eval_sources), task_prefix=prefix,
        truncated_training_summaries=truncated,
    )
    rows = [{"source": document, "reference": reference,
             "hypothesis": hypothesis}
            for document, reference, hypothesis in zip(
                eval_data["documents"], references, hypotheses)]
    finish_run(model, run, args, results, rows, eval_sources[0],
               args.serving_name)
    if truncated:
        print(f"note: {truncated} training summaries were cut to "
              f"--target_sequence_length {args.target_sequence_length}.")
    return results


if __name__ == "__main__":
    sys.exit(run_command(main))
