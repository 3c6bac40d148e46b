"""GPT pretraining, from a text corpus to a served text generator.

Trains a byte-level BPE vocabulary on the corpus (or takes one), packs the
corpus into fixed-length sequences, pretrains a GPT causal language model,
reports perplexity on held-out documents, prints sample generations, and
exports a SavedModel whose `serving_default` and `generate` signatures
take prompt strings and return generated text. With no arguments it
trains `gpt_tiny` on the bundled corpus in a few minutes on a laptop CPU.

    python recipes/gpt_pretrain.py
    python recipes/gpt_pretrain.py --corpus stdlib --epochs 4
    python recipes/gpt_pretrain.py --train_file 'books/*.txt' --preset gpt_mini \\
        --sequence_length 256 --vocabulary_size 8000

Rerunning with the same --model_dir resumes from its newest checkpoint.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Light imports only: tfzoo's subpackages (and TensorFlow) load after the
# flags are parsed, so --help and --print_config answer at once.
os.environ["TFZOO_LAZY_IMPORT"] = "1"
import tfzoo  # noqa: E402
from tfzoo.data import read_text_corpus, stdlib_docstrings_corpus  # noqa: E402
from tfzoo.data.samples import sample_path  # noqa: E402
from tfzoo.logs import import_tensorflow  # noqa: E402
from tfzoo.presets import GPT_PRESETS  # noqa: E402
from tfzoo.recipes.command_line import run_command  # noqa: E402
from tfzoo.recipes.config import add_training_flags, parse_config  # noqa: E402
from tfzoo.recipes.config import recipe_parser  # noqa: E402
from tfzoo.recipes.serving_commands import serving_footer  # noqa: E402
os.environ.pop("TFZOO_LAZY_IMPORT")  # not for child processes

SAMPLE_PROMPTS = ("The river", "Every summer the", "")
# Settings a resumed run must share with the checkpoints' run.
FIXED_SETTINGS = (
    "preset", "corpus", "train_file", "sequence_length", "batch_size",
    "vocabulary_size", "vocabulary_dir", "eval_fraction", "seed",
    "hidden_dim", "num_layers",
)


DEFAULTS = {
    "epochs": 8,
    "batch_size": 16,
    "learning_rate": 2e-3,
    "sequence_length": 64,
    "model_dir": "runs/gpt_pretrain",
}


def build_parser():
    parser = recipe_parser(__doc__)
    add = parser.add_argument
    add("--preset", default="gpt_tiny",
        choices=sorted(GPT_PRESETS),
        help="GPT size (default %(default)s)")
    add("--num_layers", type=int,
        help="override the preset's number of layers")
    add("--hidden_dim", type=int,
        help="override the preset's hidden size (the feed-forward is 4x)")
    add("--init_checkpoint",
        help="start from these weights: a model.keras written by this "
             "recipe, or a Hugging Face GPT-2 directory (config.json, "
             "model.safetensors, vocab.json, merges.txt)")
    add_training_flags(parser, DEFAULTS)
    data = parser.add_argument_group("data")
    data.add_argument(
        "--corpus", default="sample", choices=("sample", "stdlib", "files"),
        help="sample: the bundled corpus; stdlib: Python standard library "
             "docstrings; files: --train_file (default %(default)s)")
    data.add_argument(
        "--train_file",
        help="text file(s) or glob, one sentence per line, blank lines "
             "between documents (implies --corpus files)")
    data.add_argument("--max_documents", type=int,
                      help="use at most this many documents of the corpus")
    data.add_argument(
        "--eval_fraction", type=float, default=0.1,
        help="fraction of documents held out for perplexity "
             "(default %(default)s)")
    data.add_argument("--vocabulary_size", type=int, default=800,
                      help="BPE vocabulary size to train "
                           "(default %(default)s)")
    data.add_argument(
        "--vocabulary_dir",
        help="a directory with vocab.json and merges.txt to use instead "
             "of training a vocabulary")
    add("--max_new_tokens", type=int, default=24,
        help="tokens per sample generation, and the default of the "
             "exported serving_default signature (default %(default)s)")
    add("--serving_name", default="gpt",
        help="model name in the serve and query commands "
             "(default %(default)s)")
    return parser


def read_documents(args):
    """`(train_texts, eval_texts)`: one string per document."""
    if args.train_file:
        args.corpus = "files"
    if args.corpus == "files" and not args.train_file:
        raise ValueError("--corpus files needs --train_file.")
    if args.corpus == "stdlib":
        documents = stdlib_docstrings_corpus(args.max_documents)
    else:
        path = (args.train_file if args.corpus == "files"
                else sample_path("pretrain_corpus.txt"))
        documents = read_text_corpus(path)
    if args.max_documents:
        documents = documents[: args.max_documents]
    if not 0 < args.eval_fraction < 1:
        raise ValueError(
            f"--eval_fraction must be in (0, 1), got {args.eval_fraction}.")
    texts = [" ".join(document) for document in documents]
    held_out = max(1, int(len(texts) * args.eval_fraction))
    if len(texts) - held_out < 1:
        raise ValueError(
            f"The corpus has {len(texts)} document(s): too few to hold out "
            f"{held_out} for evaluation and still train.")
    return texts[:-held_out], texts[-held_out:]


def load_tokenizer(args, run, train_texts):
    """The run's BPE tokenizer: given, saved by an earlier run, or trained."""
    directory = args.vocabulary_dir or run.path("vocabulary")
    vocab, merges = (os.path.join(directory, name)
                     for name in ("vocab.json", "merges.txt"))
    if not os.path.exists(vocab):
        if args.vocabulary_dir:
            raise FileNotFoundError(f"{vocab} not found (--vocabulary_dir).")
        print(f"training a {args.vocabulary_size}-token BPE vocabulary")
        tfzoo.tokenizers.train_byte_pair_vocabulary(
            train_texts, args.vocabulary_size, output_dir=directory)
    return tfzoo.tokenizers.BytePairTokenizer(vocabulary=vocab,
                                              merges=merges)


def build_model(args, tokenizer):
    if args.init_checkpoint:
        path = args.init_checkpoint
        if os.path.isdir(path) and os.path.exists(
                os.path.join(path, "config.json")):
            return tfzoo.models.GPTCausalLM.from_pretrained(path)
        import keras
        return keras.saving.load_model(path)
    overrides = {}
    if args.num_layers:
        overrides["num_layers"] = args.num_layers
    if args.hidden_dim:
        overrides.update(hidden_dim=args.hidden_dim,
                         intermediate_dim=4 * args.hidden_dim)
    return tfzoo.models.GPTCausalLM.from_preset(
        args.preset, vocabulary_size=tokenizer.vocabulary_size,
        max_sequence_length=max(args.sequence_length, 128),
        tokenizer=tokenizer, **overrides,
    )


def main(argv=None):
    args = parse_config(build_parser(), argv)
    import_tensorflow()
    from tfzoo.export import export_saved_model
    from tfzoo.preprocessing import packed_dataset
    from tfzoo.recipes.evaluation_report import write_evaluation
    from tfzoo.recipes.run_directory import RunDirectory
    from tfzoo.recipes.training_run import prepare, train

    train_texts, eval_texts = read_documents(args)
    print(f"corpus: {len(train_texts)} training and {len(eval_texts)} "
          f"held-out documents")
    run = RunDirectory(args.model_dir)
    run.start(vars(args), FIXED_SETTINGS)
    strategy = prepare(args)
    # A checkpoint brings its own tokenizer; otherwise one is trained (or
    # reloaded from the run directory, or taken from --vocabulary_dir).
    tokenizer = None
    if not args.init_checkpoint:
        tokenizer = load_tokenizer(args, run, train_texts)
    with strategy.scope():
        model = build_model(args, tokenizer)
        if model.tokenizer is None:
            model.tokenizer = load_tokenizer(args, run, train_texts)
        tokenizer = model.tokenizer
        model.compile(learning_rate=args.learning_rate,
                      jit_compile=not args.no_xla)
    train_data = packed_dataset(train_texts, tokenizer, args.sequence_length,
                                args.batch_size, seed=args.seed)
    eval_data = packed_dataset(eval_texts, tokenizer, args.sequence_length,
                               args.batch_size, shuffle=False)
    print(f"packed: {int(train_data.cardinality())} training and "
          f"{int(eval_data.cardinality())} held-out batches of "
          f"{args.batch_size} x {args.sequence_length} tokens")
    train(model, run, args, train_data, validation_data=eval_data)

    results = model.evaluate(eval_data, verbose=0, return_dict=True)
    results["chance_perplexity"] = float(tokenizer.vocabulary_size)
    samples = {
        "greedy": model.generate(list(SAMPLE_PROMPTS),
                                 max_new_tokens=args.max_new_tokens),
        "top_p_0.9": model.generate(list(SAMPLE_PROMPTS),
                                    max_new_tokens=args.max_new_tokens,
                                    sampler="sample", top_p=0.9,
                                    seed=args.seed),
    }
    results["samples"] = samples
    print(f"held-out perplexity {results['perplexity']:.2f} (a uniform "
          f"guess: {tokenizer.vocabulary_size}), next-token accuracy "
          f"{results['accuracy']:.3f}")
    for name, texts in samples.items():
        for prompt, text in zip(SAMPLE_PROMPTS, texts):
            print(f"  [{name}] {prompt!r} -> {json.dumps(text)}")
    write_evaluation(run.evaluation_path, results)
    print(f"evaluation written to {run.evaluation_path}")
    model.save(run.path("model.keras"))

    export_dir = args.export_dir or run.path("export")
    export_path = export_saved_model(model, export_dir,
                                     max_new_tokens=args.max_new_tokens,
                                     verbose=True)
    print(serving_footer(export_path, args.serving_name,
                         ["--input", "prompt=" + json.dumps([SAMPLE_PROMPTS[0]])]))
    return results


if __name__ == "__main__":
    sys.exit(run_command(main))
