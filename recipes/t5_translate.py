"""Translation with T5, from sentence pairs to a served translator.

Fine-tunes a T5 encoder-decoder (a preset from scratch, with a
SentencePiece vocabulary trained on the training pairs; or
--init_checkpoint: a Hugging Face T5, T5 v1.1, Flan-T5 or mT5 directory,
or a directory holding the model.keras a run of this recipe saved) on
source and target sentences, the source starting with a task prefix
("translate English to German: "). Before and after training it
translates the held-out pairs with beam search and scores them with
sacrebleu's corpus BLEU (13a tokenization; the signature is printed) and
chrF, writes MODEL_DIR/eval.json, predictions.jsonl (source, reference,
hypothesis) and curves.png, and exports a SavedModel whose
`serving_default` (greedy) and `generate` (sampling or beam search, per
request) signatures TF Serving answers with the translation. With no
arguments it trains a tiny model from scratch on the bundled
English-to-Artlang sample (an artificial language: its own words, verb
last, adjectives after nouns, inflected) in about five minutes on 2 CPU
cores: BLEU 0 before training, about 42 after.

    python recipes/t5_translate.py
    python recipes/t5_translate.py --init_checkpoint T5_SMALL_DIR \\
        --tfds_name wmt14_translate/de-en --data_dir ~/tensorflow_datasets \\
        --source_language en --target_language de --max_train_examples 200000
    python recipes/t5_translate.py --train_file train.tsv --eval_file dev.tsv \\
        --source_language en --target_language fr --preset t5_small \\
        --vocabulary_size 16000 --dropout 0.1

Pair files are JSONL, CSV or TSV, with `source` and `target` columns or
keyed by language code (`{"en": ..., "de": ...}`; a header `en<TAB>de`).
TFDS sets (prepared in --data_dir; nothing is downloaded):
wmt14_translate/de-en, wmt_t2t_translate/de-en,
ted_hrlr_translate/pt_to_en. Served requests carry the task prefix, as
T5 expects. Rerunning with the same --model_dir resumes from its newest
checkpoint.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Light imports only: tfzoo's subpackages (and TensorFlow) load after the
# flags are parsed, so --help and --print_config answer at once.
os.environ["TFZOO_LAZY_IMPORT"] = "1"
import tfzoo  # noqa: E402,F401
from tfzoo.data import load_tfds, read_parallel_file  # noqa: E402
from tfzoo.data import translation_languages  # noqa: E402
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

# Language names for the default task prefix; other codes are used as
# they are.
LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "pt": "Portuguese",
    "ro": "Romanian", "es": "Spanish", "it": "Italian", "nl": "Dutch",
    "cs": "Czech", "ru": "Russian", "art": "Artlang",
}
DEFAULTS = {
    "epochs": 12,
    "batch_size": 16,
    "learning_rate": None,
    "sequence_length": 32,
    "model_dir": "runs/t5_translate",
}
# Settings a resumed run must share with the checkpoints' run.
FIXED_SETTINGS = MODEL_SETTINGS + (
    "train_file", "tfds_name", "train_split", "max_train_examples",
    "source_language", "target_language",
)


def build_parser():
    parser = recipe_parser(__doc__)
    add_seq2seq_flags(
        parser, DEFAULTS, target="translation",
        dropout_note=": on the small bundled sample T5's 0.1 ended the "
                     "default run at BLEU 10 instead of 42")
    data = parser.add_argument_group("data")
    data.add_argument("--train_file", default="sample:translation_train.jsonl",
                      help="training pairs, .jsonl, .csv or .tsv, with source "
                           "and target columns or language-code keys; "
                           "sample:NAME is a file bundled with tfzoo "
                           "(default %(default)s)")
    data.add_argument("--eval_file", default="sample:translation_test.jsonl",
                      help="held-out pairs for BLEU and chrF, the same "
                           "format (default %(default)s)")
    data.add_argument("--tfds_name",
                      help="read a TFDS translation set instead of the "
                           "files: wmt14_translate/de-en, "
                           "wmt_t2t_translate/de-en, "
                           "ted_hrlr_translate/pt_to_en (prepared in "
                           "--data_dir; nothing is downloaded)")
    add_split_flags(data, examples="pairs", largest="WMT14 has 4.5 million",
                    eval_split_note="; WMT's is newstest2014")
    data.add_argument("--source_language", default="en",
                      help="language code of the sources: the file's or "
                           "TFDS set's key (default %(default)s)")
    data.add_argument("--target_language",
                      help="language code of the targets (default: the "
                           "data's other language)")
    data.add_argument("--task_prefix",
                      help="text put before every source (default "
                           "'translate SOURCE to TARGET: ' with the "
                           "languages' English names)")
    parser.add_argument("--serving_name", default="translate",
                        help="model name in the serve and query commands "
                             "(default %(default)s)")
    return parser


def read_pairs(args):
    """`(train, evaluation)`, each `{"sources", "targets"}` lists; sets
    `args.target_language` when the data names it."""
    if args.tfds_name:
        return _tfds_pairs(args)
    train, report = read_parallel_file(resolve_data_path(args.train_file),
                                       args.source_language,
                                       args.target_language)
    print(report.summary())
    if args.target_language is None and train.source_column == \
            args.source_language:
        args.target_language = train.target_column
    evaluation, report = read_parallel_file(
        resolve_data_path(args.eval_file), args.source_language,
        args.target_language)
    print(report.summary())
    return ({"sources": train.sources[:args.max_train_examples],
             "targets": train.targets[:args.max_train_examples]},
            {"sources": evaluation.sources[:args.max_eval_examples],
             "targets": evaluation.targets[:args.max_eval_examples]})


def _tfds_pairs(args):
    languages = translation_languages(args.tfds_name)
    source = args.source_language
    if source not in languages:
        raise ValueError(
            f"--source_language {source!r} is not a language of "
            f"{args.tfds_name} ({', '.join(languages)}). Fix: pass one of "
            f"them.")
    if args.target_language is None:
        args.target_language = next(code for code in languages
                                    if code != source)
    if args.target_language not in languages or \
            args.target_language == source:
        raise ValueError(
            f"--target_language {args.target_language!r} is not the other "
            f"language of {args.tfds_name} ({', '.join(languages)}). Fix: "
            f"pass {' or '.join(c for c in languages if c != source)}.")
    data_dir = os.path.expanduser(args.data_dir) if args.data_dir else None
    splits = []
    for split, limit in ((args.train_split, args.max_train_examples),
                         (args.eval_split, args.max_eval_examples)):
        dataset = load_tfds(args.tfds_name, split, data_dir)
        pairs = {"sources": [], "targets": []}
        for example in dataset.as_numpy_iterator():
            texts = [example[code].decode("utf-8")
                     for code in (source, args.target_language)]
            if not all(text.strip() for text in texts):
                continue
            pairs["sources"].append(texts[0])
            pairs["targets"].append(texts[1])
            if limit and len(pairs["sources"]) >= limit:
                break
        print(f"{args.tfds_name} {split}: {len(pairs['sources'])} pairs")
        if not pairs["sources"]:
            raise ValueError(
                f"{args.tfds_name} split {split!r} has no sentence pairs. "
                f"Fix: pass another --train_split / --eval_split.")
        splits.append(pairs)
    return tuple(splits)


def task_prefix(args):
    if args.task_prefix is not None:
        return args.task_prefix
    if args.target_language is None:
        raise ValueError(
            "The pair files have source and target columns, so the target "
            "language is unknown. Fix: pass --target_language (its code; "
            "it names the language in the task prefix) or --task_prefix.")
    source, target = (LANGUAGE_NAMES.get(code, code) for code in
                      (args.source_language, args.target_language))
    return f"translate {source} to {target}: "


def score(hypotheses, references):
    """Corpus BLEU and chrF of `hypotheses`, and the two signatures."""
    from tfzoo.metrics import corpus_bleu, corpus_chrf

    bleu = corpus_bleu(hypotheses, references)
    chrf = corpus_chrf(hypotheses, references)
    return {"bleu": bleu["bleu"], "chrf": chrf["chrf"],
            "bleu_precisions": bleu["precisions"],
            "brevity_penalty": bleu["brevity_penalty"]}, {
        "bleu": bleu["signature"], "chrf": chrf["signature"]}


def evaluate(model, sources, references, args):
    """BLEU and chrF of the model's translations, and the translations."""
    hypotheses = generate_texts(model, sources, args)
    scores, signatures = score(hypotheses, references)
    return scores, hypotheses, signatures


def main(argv=None):
    args = parse_config(build_parser(), argv)
    check_settings(args)
    train_pairs, eval_pairs = read_pairs(args)
    prefix = task_prefix(args)
    print(f"data: {len(train_pairs['sources'])} training and "
          f"{len(eval_pairs['sources'])} held-out pairs, "
          f"{args.source_language} -> {args.target_language or 'target'}; "
          f"task prefix {prefix!r}")
    sources = [prefix + text for text in train_pairs["sources"]]
    eval_sources = [prefix + text for text in eval_pairs["sources"]]

    model, run = start_run(args, sources, train_pairs["targets"],
                           FIXED_SETTINGS)
    from tfzoo.recipes.training_run import train

    count_truncated(model, train_pairs["targets"], args)
    references = eval_pairs["targets"]
    results = {}
    # The baseline a translation must beat: each source copied unchanged
    # (names, numbers and shared words score).
    results["copy_baseline"], _ = score(eval_pairs["sources"], references)
    print(f"copy baseline (each source as its translation): BLEU "
          f"{results['copy_baseline']['bleu']:.2f}, chrF "
          f"{results['copy_baseline']['chrf']:.2f}")
    results["before"], _, _ = evaluate(model, eval_sources, references, args)
    print(f"before training: BLEU {results['before']['bleu']:.2f}, chrF "
          f"{results['before']['chrf']:.2f}")
    train(model, run, args, sources, train_pairs["targets"],
          validation_data=(eval_sources, references))
    results["after"], hypotheses, signatures = evaluate(
        model, eval_sources, references, args)
    results.update(
        signatures=signatures, num_beams=args.num_beams,
        max_new_tokens=args.max_new_tokens,
        num_training_pairs=len(sources), num_eval_pairs=len(eval_sources),
        task_prefix=prefix,
    )
    print(f"BLEU signature: {signatures['bleu']}")
    print(f"chrF signature: {signatures['chrf']}")
    rows = [{"source": source, "reference": reference,
             "hypothesis": hypothesis}
            for source, reference, hypothesis in zip(
                eval_pairs["sources"], references, hypotheses)]
    finish_run(model, run, args, results, rows, eval_sources[0],
               args.serving_name)
    return results


if __name__ == "__main__":
    sys.exit(run_command(main))
