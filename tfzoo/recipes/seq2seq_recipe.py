"""What the T5 text-to-text recipes share (t5_translate, t5_summarize).

The flags of the model, vocabulary and decoding; the SentencePiece
tokenizer (given, kept by a resumed run, or trained on the data); the
model (a preset from scratch or --init_checkpoint); batched beam-search
generation; the count of targets cut to --target_sequence_length; and
the end of a run: eval.json, predictions.jsonl, model.keras, the export
and the serve and query commands.

A recipe reads its data, then:

    args = parse_config(parser, argv)      # parser from add_seq2seq_flags
    check_settings(args)
    model, run = start_run(args, sources, targets, FIXED_SETTINGS)
    hypotheses = generate_texts(model, eval_sources, args)
    ...
    finish_run(model, run, args, results, rows, eval_sources[0], "name")

Importing this module imports no TensorFlow (the flags answer at once).
"""

import json
import os

from tfzoo.presets import T5_PRESETS
from tfzoo.recipes.config import add_training_flags
from tfzoo.recipes.serving_commands import serving_footer

SCRATCH_LEARNING_RATE = 2e-3
FINE_TUNE_LEARNING_RATE = 3e-4
# Texts decoded at a time in the evaluation.
DECODE_BATCH = 64
# Settings a resumed run must share with the checkpoints' run; a recipe
# adds its data's.
MODEL_SETTINGS = (
    "preset", "init_checkpoint", "num_layers", "hidden_dim", "dropout",
    "sequence_length", "target_sequence_length", "batch_size",
    "vocabulary", "vocabulary_size", "vocabulary_model", "task_prefix",
    "seed",
)


def add_seq2seq_flags(parser, defaults, dropout_note="", target="target",
                      num_beams=4, target_length_flag=True,
                      vocabulary_texts="the training pairs"):
    """The model, training, vocabulary and decoding flags; `defaults`
    overrides the training flags' defaults and may set
    `vocabulary_size`. `target` names what is generated ("translation",
    "summary") in the help; `target_length_flag=False` leaves out
    --target_sequence_length (a recipe that derives it);
    `vocabulary_texts` names what a vocabulary is trained on."""
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
                       help=f"dropout rate of a model built from --preset "
                            f"(default %(default)s{dropout_note}; try 0.1 "
                            f"on large data). A checkpoint keeps its own")
    model.add_argument(
        "--init_checkpoint",
        help="start from these weights instead of a random init: a Hugging "
             "Face T5, T5 v1.1, Flan-T5 or mT5 directory (config.json, "
             "model.safetensors, spiece.model), or a tfzoo T5 directory "
             "(model.keras, e.g. MODEL_DIR of an earlier run)")
    add_training_flags(parser, defaults)
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
    if target_length_flag:
        parser.add_argument(
            "--target_sequence_length", type=int,
            default=defaults.get("target_sequence_length"),
            help=f"the longest {target} in tokens with its </s>; longer "
                 f"ones are cut for training, counted and reported "
                 f"(default: {defaults.get('target_sequence_length') or '--sequence_length'})")
    model.add_argument(
        "--vocabulary_size", type=int,
        default=defaults.get("vocabulary_size", 300),
        help=f"size of the SentencePiece vocabulary trained on "
             f"{vocabulary_texts} when there is no --init_checkpoint or "
             "--vocabulary (an upper bound: small data may give fewer "
             "pieces; default %(default)s suits the bundled sample, real "
             "corpora want 8000-32000)")
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
    decode = parser.add_argument_group("decoding")
    decode.add_argument("--num_beams", type=int, default=num_beams,
                        help="beam search width of the evaluation, and of "
                             "the printed query; 1 is greedy (default "
                             "%(default)s)")
    decode.add_argument("--max_new_tokens", type=int,
                        help=f"the longest {target} in tokens, in the "
                             f"evaluation and the exported serving_default "
                             f"(default: --target_sequence_length)")
    return parser


def add_split_flags(data, examples, largest, eval_split_note=""):
    """The TFDS directory, split and example-limit flags, added to the
    argument group `data`."""
    data.add_argument("--data_dir", help="the TFDS data directory for "
                                         "--tfds_name")
    data.add_argument("--train_split", default="train",
                      help="TFDS split to train on (default %(default)s)")
    data.add_argument("--eval_split", default="test",
                      help=f"TFDS split to evaluate on (default "
                           f"%(default)s{eval_split_note})")
    data.add_argument("--max_train_examples", type=int,
                      help=f"train on at most this many {examples} (the "
                           f"first ones; {largest})")
    data.add_argument("--max_eval_examples", type=int,
                      help=f"evaluate on at most this many {examples}")


def check_settings(args):
    """Flag values that cannot work, before any data is read; fills the
    lengths left to default."""
    for name in ("num_beams", "sequence_length", "batch_size", "epochs"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be at least 1, got "
                             f"{getattr(args, name)}.")
    for name in ("max_new_tokens", "target_sequence_length",
                 "max_train_examples", "max_eval_examples"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise ValueError(f"--{name} must be at least 1, got {value}.")
    if args.target_sequence_length is None:
        args.target_sequence_length = args.sequence_length
    if args.max_new_tokens is None:
        args.max_new_tokens = args.target_sequence_length


def load_tokenizer(args, run, texts, extra_ids=0):
    """The run's SentencePiece tokenizer: given, kept by the run being
    resumed, or trained now on `texts()` with T5's conventions; with
    `extra_ids` sentinels `<extra_id_0>`... on top (span corruption)."""
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
    tokenizer = SentencePieceTokenizer(path, extra_ids=extra_ids)
    sentinels = f", {extra_ids} of them sentinels" if extra_ids else ""
    print(f"vocabulary: {tokenizer.vocabulary_size} SentencePiece pieces"
          f"{sentinels} ({path})")
    return tokenizer


def build_model(args, run, texts, extra_ids=0):
    """The T5Seq2SeqLM to train, with its preprocessor: from
    --init_checkpoint (with its own tokenizer), or --preset (with
    --num_layers / --hidden_dim) and a tokenizer from `load_tokenizer`."""
    from tfzoo.models import T5Seq2SeqLM
    from tfzoo.preprocessing import T5Seq2SeqLMPreprocessor
    from tfzoo.recipes.initial_weights import load_seq2seq_checkpoint

    lengths = dict(encoder_sequence_length=args.sequence_length,
                   decoder_sequence_length=args.target_sequence_length)
    if args.init_checkpoint:
        if args.num_layers or args.hidden_dim:
            raise ValueError(
                "--num_layers and --hidden_dim shape a model built from "
                "--preset; --init_checkpoint brings its own. Fix: leave "
                "them out.")
        model = load_seq2seq_checkpoint(args.init_checkpoint, T5Seq2SeqLM,
                                        T5Seq2SeqLMPreprocessor, **lengths)
        backbone = model.backbone
        print(f"model: {args.init_checkpoint} ({backbone.num_layers} layers "
              f"a stack, hidden {backbone.hidden_dim}, vocabulary "
              f"{backbone.vocabulary_size})")
        return model
    tokenizer = load_tokenizer(args, run, texts, extra_ids)
    overrides = {"dropout": args.dropout}
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
    model = T5Seq2SeqLM.from_preset(
        args.preset, vocabulary_size=tokenizer.vocabulary_size,
        preprocessor=T5Seq2SeqLMPreprocessor(tokenizer, **lengths),
        **overrides)
    backbone = model.backbone
    print(f"model: {args.preset}, random init ({backbone.num_layers} layers "
          f"a stack, hidden {backbone.hidden_dim}, "
          f"{model.count_params():,} parameters)")
    return model


def start_run(args, sources, targets, fixed_settings, extra_ids=0):
    """Imports TensorFlow, opens the run directory (resuming it), builds
    and compiles the model under the strategy; returns `(model, run)`.
    The vocabulary, when one is trained, is trained on `sources` (with
    their task prefix) and `targets`, plus `extra_ids` sentinels."""
    from tfzoo.logs import import_tensorflow

    import_tensorflow()
    from tfzoo.recipes.training_run import open_run

    run, strategy = open_run(args, fixed_settings, SCRATCH_LEARNING_RATE,
                             FINE_TUNE_LEARNING_RATE)
    with strategy.scope():
        model = build_model(args, run, lambda: list(sources) + list(targets),
                            extra_ids)
        model.compile(learning_rate=args.learning_rate,
                      jit_compile=not args.no_xla)
    return model, run


def count_truncated(model, targets, args, what="targets"):
    """Prints how many `targets` are longer than --target_sequence_length
    tokens (with </s>) and so are cut for training; returns the count."""
    _, count = model.preprocessor.count_truncated(targets=targets)
    if count:
        print(f"{count} of {len(targets)} training {what} are longer than "
              f"--target_sequence_length {args.target_sequence_length} "
              f"tokens (with </s>) and are cut for training. Fix, if that "
              f"is too many: raise --target_sequence_length.")
    return count


def generate_texts(model, sources, args):
    """The model's outputs for `sources` (prefixed), with beam search (or
    greedy for --num_beams 1), `DECODE_BATCH` at a time."""
    options = dict(max_new_tokens=args.max_new_tokens)
    if args.num_beams > 1:
        options.update(sampler="beam", num_beams=args.num_beams)
    outputs = []
    for start in range(0, len(sources), DECODE_BATCH):
        outputs += model.generate(list(sources[start:start + DECODE_BATCH]),
                                  **options)
    return outputs


def finish_run(model, run, args, results, rows, example_source,
               serving_name):
    """Writes eval.json (`results`, with the trained steps) and
    predictions.jsonl (`rows`), saves model.keras, exports the SavedModel
    and prints the serve and query commands; the query asks `generate`
    for `example_source` (task prefix included) with --num_beams."""
    from tfzoo.export import export_saved_model
    from tfzoo.recipes.evaluation_report import write_evaluation
    from tfzoo.recipes.evaluation_report import write_predictions

    results["trained_steps"] = int(model.optimizer.iterations.numpy())
    write_evaluation(run.evaluation_path, results)
    write_predictions(run.predictions_path, rows)
    for row in rows[:3]:
        print(f"  {row['source'][:200]!r} -> {row['hypothesis']!r} "
              f"(reference {row['reference']!r})")
    print(f"evaluation written to {run.evaluation_path} (per example: "
          f"{run.predictions_path})")
    model.save(run.path("model.keras"))
    export_dir = args.export_dir or run.path("export")
    export_path = export_saved_model(model, export_dir,
                                     max_new_tokens=args.max_new_tokens,
                                     verbose=True)
    query = ["--signature", "generate",
             "--input", "text=" + json.dumps([example_source],
                                             ensure_ascii=False),
             "--input", f"num_beams=[{args.num_beams}]",
             "--input", f"max_new_tokens=[{args.max_new_tokens}]",
             "--input", "temperature=[1.0]", "--input", "top_k=[1]",
             "--input", "top_p=[1.0]", "--input", "seed=[0]"]
    print(serving_footer(export_path, serving_name, query))
    return export_path
