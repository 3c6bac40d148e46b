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
from tfzoo.logs import import_tensorflow  # noqa: E402
from tfzoo.presets import T5_PRESETS  # noqa: E402
from tfzoo.recipes.command_line import run_command  # noqa: E402
from tfzoo.recipes.config import add_training_flags, parse_config  # noqa: E402
from tfzoo.recipes.config import recipe_parser  # noqa: E402
from tfzoo.recipes.data_files import resolve_data_path  # noqa: E402
from tfzoo.recipes.serving_commands import serving_footer  # noqa: E402
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
SCRATCH_LEARNING_RATE = 2e-3
FINE_TUNE_LEARNING_RATE = 3e-4
# Translations decoded at a time in the evaluation.
DECODE_BATCH = 64
# Settings a resumed run must share with the checkpoints' run.
FIXED_SETTINGS = (
    "preset", "init_checkpoint", "num_layers", "hidden_dim", "dropout",
    "sequence_length", "target_sequence_length", "batch_size",
    "vocabulary", "vocabulary_size", "vocabulary_model", "train_file",
    "tfds_name", "train_split", "max_train_examples", "source_language",
    "target_language", "task_prefix", "seed",
)


def build_parser():
    parser = recipe_parser(__doc__)
    add = parser.add_argument
    model = parser.add_argument_group("model")
    model.add_argument(
        "--preset", default="t5_tiny", choices=sorted(T5_PRESETS),
        help="T5 size to build when --init_checkpoint is not given "
             "(default %(default)s)")
    model.add_argument("--num_layers", type=int,
                       help="override the preset's layers per stack")
    model.add_argument("--hidden_dim", type=int,
                       help="override the preset's hidden size (the "
                            "feed-forward is 4x, the heads split it)")
    model.add_argument("--dropout", type=float, default=0.0,
                       help="dropout rate of a model built from --preset "
                            "(default %(default)s: on the small bundled "
                            "sample T5's 0.1 ended the default run at BLEU "
                            "10 instead of 42; try 0.1 on large data). A "
                            "checkpoint keeps its own")
    model.add_argument(
        "--init_checkpoint",
        help="start from these weights instead of a random init: a Hugging "
             "Face T5, T5 v1.1, Flan-T5 or mT5 directory (config.json, "
             "model.safetensors, spiece.model), or a tfzoo T5 directory "
             "(model.keras, e.g. MODEL_DIR of an earlier run)")
    add_training_flags(parser, DEFAULTS)
    for action in parser._actions:
        if action.dest == "learning_rate":
            action.help = (f"peak AdamW learning rate, after linear warmup "
                           f"(default {SCRATCH_LEARNING_RATE} from scratch, "
                           f"{FINE_TUNE_LEARNING_RATE} from "
                           f"--init_checkpoint)")
        if action.dest == "sequence_length":
            action.help = ("the longest source in tokens, task prefix and "
                           "</s> included; longer ones are cut (default "
                           "%(default)s)")
    add("--target_sequence_length", type=int,
        help="the longest target in tokens with its </s> (default: "
             "--sequence_length)")
    model.add_argument(
        "--vocabulary_size", type=int, default=300,
        help="size of the SentencePiece vocabulary trained on the "
             "training pairs when there is no --init_checkpoint or "
             "--vocabulary (an upper bound: small data may give fewer "
             "pieces). The default %(default)s suits the bundled sample, "
             "whose word endings then get pieces of their own; real "
             "corpora want 8000-32000")
    model.add_argument(
        "--vocabulary_model", default="bpe", choices=("bpe", "unigram"),
        help="SentencePiece model type to train: bpe (whole words on "
             "small data) or unigram (T5's own vocabularies; on a few "
             "thousand sentences it keeps few pieces and splits words) "
             "(default %(default)s)")
    model.add_argument(
        "--vocabulary",
        help="an existing SentencePiece .model with T5's ids (<pad> 0, </s> "
             "1, <unk> 2) to use instead of training one")
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
    data.add_argument("--data_dir", help="the TFDS data directory for "
                                         "--tfds_name")
    data.add_argument("--train_split", default="train",
                      help="TFDS split to train on (default %(default)s)")
    data.add_argument("--eval_split", default="test",
                      help="TFDS split to evaluate on (default "
                           "%(default)s; WMT's is newstest2014)")
    data.add_argument("--max_train_examples", type=int,
                      help="train on at most this many pairs (the first "
                           "ones; WMT14 has 4.5 million)")
    data.add_argument("--max_eval_examples", type=int,
                      help="evaluate on at most this many pairs")
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
    decode = parser.add_argument_group("decoding")
    decode.add_argument("--num_beams", type=int, default=4,
                        help="beam search width of the evaluation, and of "
                             "the printed query; 1 is greedy (default "
                             "%(default)s)")
    decode.add_argument("--max_new_tokens", type=int,
                        help="the longest translation in tokens, in the "
                             "evaluation and the exported serving_default "
                             "(default: --target_sequence_length)")
    add("--serving_name", default="translate",
        help="model name in the serve and query commands "
             "(default %(default)s)")
    return parser


def check_settings(args):
    """Flag values that cannot work, before any data is read."""
    for name in ("num_beams", "sequence_length", "batch_size", "epochs"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be at least 1, got "
                             f"{getattr(args, name)}.")
    for name in ("max_new_tokens", "target_sequence_length",
                 "max_train_examples", "max_eval_examples"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name} must be at least 1, got {value}.")
    if args.target_sequence_length is None:
        args.target_sequence_length = args.sequence_length
    if args.max_new_tokens is None:
        args.max_new_tokens = args.target_sequence_length


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


def load_tokenizer(args, run, texts):
    """The run's SentencePiece tokenizer: given, kept by the run being
    resumed, or trained now on `texts()` with T5's conventions."""
    from tfzoo.tokenizers import SentencePieceTokenizer
    from tfzoo.tokenizers import train_sentence_piece_model

    saved = run.path("spiece.model")
    if args.vocabulary:
        path = args.vocabulary
        if not os.path.exists(path):
            raise FileNotFoundError(f"--vocabulary {path!r} not found.")
    elif os.path.exists(saved) and run.resumed_step:
        path = saved
    else:
        # T5's SentencePiece conventions: <pad> 0 (also the decoder's
        # start), </s> 1, <unk> 2, no <s>; NFKC, whitespace collapsed, a
        # space added before the text, no byte pieces. The sources carry
        # the task prefix, so its words get pieces of their own.
        train_sentence_piece_model(
            texts(), args.vocabulary_size, model_type=args.vocabulary_model,
            output_path=saved, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
            add_dummy_prefix=True, byte_fallback=False,
            normalization_rule_name="nmt_nfkc",
            remove_extra_whitespaces=True, hard_vocab_limit=False,
            input_sentence_size=2_000_000, shuffle_input_sentence=True)
        path = saved
    tokenizer = SentencePieceTokenizer(path)
    print(f"vocabulary: {tokenizer.vocabulary_size} SentencePiece pieces "
          f"({path})")
    return tokenizer


def build_model(args, run, texts):
    """The T5Seq2SeqLM to train, with its preprocessor."""
    from tfzoo.models import T5Seq2SeqLM
    from tfzoo.preprocessing import T5Seq2SeqLMPreprocessor
    from tfzoo.recipes.initial_weights import load_seq2seq_checkpoint

    lengths = dict(encoder_sequence_length=args.sequence_length,
                   decoder_sequence_length=args.target_sequence_length)
    if args.init_checkpoint:
        model = load_seq2seq_checkpoint(args.init_checkpoint, T5Seq2SeqLM,
                                        T5Seq2SeqLMPreprocessor, **lengths)
        if args.num_layers or args.hidden_dim:
            raise ValueError(
                "--num_layers and --hidden_dim shape a model built from "
                "--preset; --init_checkpoint brings its own. Fix: leave "
                "them out.")
        backbone = model.backbone
        print(f"model: {args.init_checkpoint} ({backbone.num_layers} layers "
              f"a stack, hidden {backbone.hidden_dim}, vocabulary "
              f"{backbone.vocabulary_size})")
        return model
    tokenizer = load_tokenizer(args, run, texts)
    overrides = {}
    if args.num_layers:
        overrides["num_layers"] = args.num_layers
    if args.hidden_dim:
        heads = T5_PRESETS[args.preset]["num_heads"]
        if args.hidden_dim % heads:
            raise ValueError(
                f"--hidden_dim {args.hidden_dim} does not split into the "
                f"{heads} heads of {args.preset}. Fix: pass a multiple of "
                f"{heads}.")
        overrides.update(hidden_dim=args.hidden_dim,
                         intermediate_dim=4 * args.hidden_dim,
                         head_dim=args.hidden_dim // heads)
    overrides["dropout"] = args.dropout
    model = T5Seq2SeqLM.from_preset(
        args.preset, vocabulary_size=tokenizer.vocabulary_size,
        preprocessor=T5Seq2SeqLMPreprocessor(tokenizer, **lengths),
        **overrides)
    backbone = model.backbone
    print(f"model: {args.preset}, random init ({backbone.num_layers} layers "
          f"a stack, hidden {backbone.hidden_dim}, "
          f"{model.count_params():,} parameters)")
    return model


def translate(model, sources, args):
    """The model's translations of `sources` (prefixed), with beam search
    (or greedy for --num_beams 1), `DECODE_BATCH` at a time."""
    options = dict(max_new_tokens=args.max_new_tokens)
    if args.num_beams > 1:
        options.update(sampler="beam", num_beams=args.num_beams)
    hypotheses = []
    for start in range(0, len(sources), DECODE_BATCH):
        hypotheses += model.generate(sources[start:start + DECODE_BATCH],
                                     **options)
    return hypotheses


def evaluate(model, sources, references, args):
    """BLEU and chrF of the model's translations, and the translations."""
    from tfzoo.metrics import corpus_bleu, corpus_chrf

    hypotheses = translate(model, sources, args)
    bleu = corpus_bleu(hypotheses, references)
    chrf = corpus_chrf(hypotheses, references)
    return {"bleu": bleu["bleu"], "chrf": chrf["chrf"],
            "bleu_precisions": bleu["precisions"],
            "brevity_penalty": bleu["brevity_penalty"]}, hypotheses, {
        "bleu": bleu["signature"], "chrf": chrf["signature"]}


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

    import_tensorflow()
    from tfzoo.export import export_saved_model
    from tfzoo.recipes.evaluation_report import write_evaluation
    from tfzoo.recipes.evaluation_report import write_predictions
    from tfzoo.recipes.run_directory import RunDirectory
    from tfzoo.recipes.training_run import prepare, train

    if args.learning_rate is None:
        args.learning_rate = (FINE_TUNE_LEARNING_RATE if args.init_checkpoint
                              else SCRATCH_LEARNING_RATE)
    run = RunDirectory(args.model_dir)
    run.start(vars(args), FIXED_SETTINGS)
    strategy = prepare(args)
    with strategy.scope():
        model = build_model(args, run, lambda: sources + train_pairs[
            "targets"])
        model.compile(learning_rate=args.learning_rate,
                      jit_compile=not args.no_xla)

    references = eval_pairs["targets"]
    results = {}
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
        trained_steps=int(model.optimizer.iterations.numpy()),
    )
    write_evaluation(run.evaluation_path, results)
    print(f"BLEU signature: {signatures['bleu']}")
    print(f"chrF signature: {signatures['chrf']}")
    write_predictions(run.predictions_path, [
        {"source": source, "reference": reference, "hypothesis": hypothesis}
        for source, reference, hypothesis in zip(
            eval_pairs["sources"], references, hypotheses)
    ])
    for row in range(min(3, len(hypotheses))):
        print(f"  {eval_pairs['sources'][row]!r} -> {hypotheses[row]!r} "
              f"(reference {references[row]!r})")
    print(f"evaluation written to {run.evaluation_path} (per pair: "
          f"{run.predictions_path})")
    model.save(run.path("model.keras"))

    export_dir = args.export_dir or run.path("export")
    export_path = export_saved_model(model, export_dir,
                                     max_new_tokens=args.max_new_tokens,
                                     verbose=True)
    query = ["--signature", "generate",
             "--input", "text=" + json.dumps([eval_sources[0]],
                                             ensure_ascii=False),
             "--input", f"num_beams=[{args.num_beams}]",
             "--input", f"max_new_tokens=[{args.max_new_tokens}]",
             "--input", "temperature=[1.0]", "--input", "top_k=[1]",
             "--input", "top_p=[1.0]", "--input", "seed=[0]"]
    print(serving_footer(export_path, args.serving_name, query))
    return results


if __name__ == "__main__":
    sys.exit(run_command(main))
