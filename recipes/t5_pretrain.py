"""T5 pretraining with span corruption, from a text corpus to a checkpoint
that t5_translate and t5_summarize start from.

Trains a SentencePiece vocabulary with T5's conventions and 100 sentinels
(<extra_id_0>, ...) on the corpus (or takes --vocabulary, or the model of
--init_checkpoint), holds out a tenth of the documents, and pretrains a
T5 encoder-decoder on T5's span-corruption objective: about 15% of the
tokens, in spans of mean length 3, are hidden from the encoder behind a
sentinel each, and the decoder writes them back after their sentinels
(built in tf.data by tfzoo.preprocessing.SpanCorruption):

    inputs   The <extra_id_0> sat on <extra_id_1> mat.
    targets  <extra_id_0> cat <extra_id_1> the

Before and after training it measures, on the held-out documents, the
span accuracy (the hidden tokens predicted right, sentinels and </s>
aside), the accuracy and perplexity over all target tokens, and what
always guessing the most frequent token scores; writes them to
MODEL_DIR/eval.json, with predictions.jsonl (corrupted input, hidden
spans, the model's fill) and curves.png; saves MODEL_DIR/model.keras (the
model with its tokenizer), which t5_translate and t5_summarize take as
--init_checkpoint MODEL_DIR; and exports a SavedModel that fills the
sentinels of a served text. With no arguments it pretrains a tiny T5 on
the bundled corpus in a few minutes on 2 CPU cores.

    python recipes/t5_pretrain.py
    python recipes/t5_translate.py --init_checkpoint runs/t5_pretrain
    python recipes/t5_pretrain.py --corpus stdlib --vocabulary_size 4000
    python recipes/t5_pretrain.py --train_files 'books/*.txt' \\
        --preset t5_small --sequence_length 512 --vocabulary_size 32000
    python recipes/t5_pretrain.py --tfds_name wikipedia/20230601.en \\
        --data_dir ~/tensorflow_datasets --max_documents 200000

Corpus files hold one sentence per line and a blank line between
documents. Rerunning with the same --model_dir resumes from its newest
checkpoint.
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Light imports only: tfzoo's subpackages (and TensorFlow) load after the
# flags are parsed, so --help and --print_config answer at once.
os.environ["TFZOO_LAZY_IMPORT"] = "1"
import tfzoo  # noqa: E402,F401
from tfzoo.data import read_text_corpus, stdlib_docstrings_corpus  # noqa: E402
from tfzoo.data import tfds_text_corpus  # noqa: E402
from tfzoo.recipes.command_line import run_command  # noqa: E402
from tfzoo.recipes.config import parse_config, recipe_parser  # noqa: E402
from tfzoo.recipes.data_files import resolve_data_path  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import MODEL_SETTINGS  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import add_seq2seq_flags  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import check_settings  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import finish_run  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import generate_texts  # noqa: E402
from tfzoo.recipes.seq2seq_recipe import start_run  # noqa: E402
os.environ.pop("TFZOO_LAZY_IMPORT")  # not for child processes

# T5's sentinels: <extra_id_0> ... <extra_id_99>, the top ids.
EXTRA_IDS = 100
# Held-out examples decoded for predictions.jsonl.
MAX_PREDICTIONS = 64
DEFAULTS = {
    "epochs": 30,
    "batch_size": 16,
    "learning_rate": None,
    "sequence_length": 64,
    "vocabulary_size": 1000,
    "model_dir": "runs/t5_pretrain",
}
# Settings a resumed run must share with the checkpoints' run.
FIXED_SETTINGS = MODEL_SETTINGS + (
    "corpus", "train_files", "tfds_name", "max_documents", "eval_fraction",
    "noise_density", "mean_noise_span_length",
)


def build_parser():
    parser = recipe_parser(__doc__)
    add_seq2seq_flags(parser, DEFAULTS, target="span fill", num_beams=1,
                      target_length_flag=False,
                      vocabulary_texts="the training documents")
    data = parser.add_argument_group("data")
    data.add_argument(
        "--corpus", default="sample", choices=("sample", "stdlib", "files"),
        help="sample: the bundled corpus; stdlib: Python standard library "
             "docstrings; files: --train_files (default %(default)s)")
    data.add_argument(
        "--train_files",
        help="corpus files, comma-separated paths or glob patterns, one "
             "sentence per line, a blank line between documents; "
             "sample:NAME is a file bundled with tfzoo (implies --corpus "
             "files)")
    data.add_argument(
        "--tfds_name",
        help="read a TFDS text set instead (its 'text' feature, e.g. "
             "wikipedia/20230601.en; prepared in --data_dir, nothing is "
             "downloaded)")
    data.add_argument("--data_dir", help="the TFDS data directory for "
                                         "--tfds_name")
    data.add_argument("--max_documents", type=int,
                      help="read at most this many documents")
    data.add_argument(
        "--eval_fraction", type=float, default=0.1,
        help="fraction of the documents held out for the span accuracy "
             "and perplexity (default %(default)s)")
    noise = parser.add_argument_group("span corruption")
    noise.add_argument("--noise_density", type=float, default=0.15,
                       help="share of the tokens hidden (default "
                            "%(default)s, T5's)")
    noise.add_argument("--mean_noise_span_length", type=float, default=3.0,
                       help="mean length of a hidden span in tokens "
                            "(default %(default)s, T5's)")
    parser.add_argument("--serving_name", default="t5_pretrain",
                        help="model name in the serve and query commands "
                             "(default %(default)s)")
    return parser


def read_documents(args):
    """The corpus: a list of documents, each a list of sentences."""
    if args.tfds_name:
        data_dir = os.path.expanduser(args.data_dir) if args.data_dir \
            else None
        documents = tfds_text_corpus(args.tfds_name, data_dir,
                                     max_documents=args.max_documents)
        source = args.tfds_name
    elif args.train_files or args.corpus == "files":
        if not args.train_files:
            raise ValueError("--corpus files needs --train_files.")
        paths = [part.strip() for part in args.train_files.split(",")
                 if part.strip()]
        paths = [path if any(c in path for c in "*?[")
                 else resolve_data_path(path) for path in paths]
        if not paths:
            raise ValueError("--train_files is empty.")
        documents = read_text_corpus(paths)
        source = ", ".join(paths)
    elif args.corpus == "stdlib":
        documents = stdlib_docstrings_corpus(args.max_documents)
        source = "Python standard library docstrings"
    else:
        documents = read_text_corpus(resolve_data_path(
            "sample:pretrain_corpus.txt"))
        source = "the bundled corpus"
    documents = documents[:args.max_documents]
    print(f"corpus: {len(documents)} documents, "
          f"{sum(len(d) for d in documents)} sentences ({source})")
    return documents


def split_documents(documents, eval_fraction, seed):
    """`(training, held-out)` documents: a seeded shuffle, then a cut."""
    if not 0 < eval_fraction < 1:
        raise ValueError(f"--eval_fraction must be between 0 and 1, got "
                         f"{eval_fraction}.")
    held_out = max(1, round(eval_fraction * len(documents)))
    if len(documents) - held_out < 1:
        raise ValueError(
            f"The corpus has {len(documents)} document(s); pretraining "
            f"needs at least one to train on and one to hold out. Fix: "
            f"separate documents with blank lines, or add text.")
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    return ([documents[i] for i in order[held_out:]],
            [documents[i] for i in order[:held_out]])


def corruption_batches(corruption, texts, args, name, shuffle=True):
    """`corruption.dataset` of `texts`, with its number of batches known
    (for the progress bar and the learning-rate schedule)."""
    import math

    import tensorflow as tf

    tokens = sum(
        int(corruption.tokenizer.tokenize(texts[start:start + 1024])
            .row_lengths().numpy().sum())
        for start in range(0, len(texts), 1024))
    examples = math.ceil(tokens / corruption.chunk_length)
    batches = math.ceil(examples / args.batch_size)
    print(f"{name}: {tokens} tokens, {examples} examples, {batches} "
          f"batches of {args.batch_size}")
    return corruption.dataset(texts, args.batch_size, shuffle).apply(
        tf.data.experimental.assert_cardinality(batches))


def evaluate(model, eval_data):
    """Span accuracy (hidden tokens only), accuracy and perplexity over
    all target tokens, and the best constant guess of each accuracy."""
    import numpy as np
    import tensorflow as tf

    tokenizer = model.preprocessor.tokenizer
    first_sentinel = tokenizer.vocabulary_size - tokenizer.extra_ids
    end_id = model.end_token_id
    hits = hidden_hits = 0
    losses, target_ids, hidden_ids = [], [], []
    for features, labels, weights in eval_data:
        logits = model(features, training=False)
        real = weights.numpy() > 0
        labels = labels.numpy()
        hidden = real & (labels != end_id) & (labels < first_sentinel)
        right = logits.numpy().argmax(-1) == labels
        hits += int((right & real).sum())
        hidden_hits += int((right & hidden).sum())
        losses.append(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels, logits).numpy()[real])
        target_ids.append(labels[real])
        hidden_ids.append(labels[hidden])
    target_ids = np.concatenate(target_ids)
    hidden_ids = np.concatenate(hidden_ids)
    return {
        "span_accuracy": hidden_hits / len(hidden_ids),
        "accuracy": hits / len(target_ids),
        "perplexity": float(np.exp(np.concatenate(losses).mean())),
        "chance_span_accuracy": _most_frequent_rate(hidden_ids),
        "chance_accuracy": _most_frequent_rate(target_ids),
        "hidden_tokens": len(hidden_ids),
        "target_tokens": len(target_ids),
    }


def _most_frequent_rate(ids):
    """How often the most frequent id occurs: what the best constant
    guess, chosen knowing the answers, scores."""
    import numpy as np

    return float(np.bincount(ids).max() / len(ids))


def held_out_examples(model, eval_data):
    """`(inputs, targets)` texts of the first held-out corrupted examples,
    sentinels written out."""
    tokenizer = model.preprocessor.tokenizer
    inputs, targets = [], []
    for features, labels, _ in eval_data:
        inputs += [text.decode("utf-8") for text in tokenizer.detokenize(
            features["encoder_token_ids"]).numpy()]
        targets += [text.decode("utf-8") for text in
                    tokenizer.detokenize(labels).numpy()]
        if len(inputs) >= MAX_PREDICTIONS:
            break
    return inputs[:MAX_PREDICTIONS], targets[:MAX_PREDICTIONS]


def print_scores(when, scores):
    print(f"{when}: span accuracy {scores['span_accuracy']:.3f} (most "
          f"frequent token: {scores['chance_span_accuracy']:.3f}), target "
          f"accuracy {scores['accuracy']:.3f}, perplexity "
          f"{scores['perplexity']:.2f}")


def main(argv=None):
    args = parse_config(build_parser(), argv)
    if not 0 < args.noise_density < 1:
        raise ValueError(f"--noise_density must be between 0 and 1, got "
                         f"{args.noise_density}.")
    if args.mean_noise_span_length < 1:
        raise ValueError(f"--mean_noise_span_length must be at least 1, "
                         f"got {args.mean_noise_span_length}.")
    if args.sequence_length < 3:
        raise ValueError(f"--sequence_length must be at least 3, got "
                         f"{args.sequence_length}.")
    documents = read_documents(args)
    train_documents, eval_documents = split_documents(
        documents, args.eval_fraction, args.seed)
    train_texts = [" ".join(document) for document in train_documents]
    eval_texts = [" ".join(document) for document in eval_documents]
    print(f"data: {len(train_texts)} training and {len(eval_texts)} "
          f"held-out documents")

    from tfzoo.preprocessing.span_corruption import longest_chunk

    chunk_length, args.target_sequence_length = longest_chunk(
        args.sequence_length, args.noise_density,
        args.mean_noise_span_length)
    check_settings(args)
    model, run = start_run(
        args, [s for document in train_documents for s in document], [],
        FIXED_SETTINGS, extra_ids=EXTRA_IDS)
    from tfzoo.preprocessing import SpanCorruption
    from tfzoo.recipes.training_run import train

    corruption = SpanCorruption(
        model.preprocessor.tokenizer, args.sequence_length,
        args.noise_density, args.mean_noise_span_length, seed=args.seed)
    print(f"span corruption: chunks of {chunk_length} tokens to inputs of "
          f"{args.sequence_length} and targets of "
          f"{args.target_sequence_length} (with </s>)")
    train_data = corruption_batches(corruption, train_texts, args,
                                    "training")
    eval_data = corruption_batches(corruption, eval_texts, args, "held-out",
                                   shuffle=False)

    results = {"before": evaluate(model, eval_data)}
    print_scores("before training", results["before"])
    train(model, run, args, train_data, validation_data=eval_data)
    results["after"] = evaluate(model, eval_data)
    print_scores("after training", results["after"])
    results.update(
        num_training_documents=len(train_texts),
        num_eval_documents=len(eval_texts),
        noise_density=args.noise_density,
        mean_noise_span_length=args.mean_noise_span_length)

    inputs, targets = held_out_examples(model, eval_data)
    fills = generate_texts(model, inputs, args)
    rows = [{"source": source, "reference": reference, "hypothesis": fill}
            for source, reference, fill in zip(inputs, targets, fills)]
    finish_run(model, run, args, results, rows, inputs[0],
               args.serving_name)
    print(f"pretrained checkpoint: {run.model_dir} (model.keras, with its "
          f"tokenizer and sentinels). Fine-tune it; the recipes keep its "
          f"vocabulary:")
    for recipe in ("t5_translate", "t5_summarize"):
        print(f"  python recipes/{recipe}.py --init_checkpoint "
              f"{run.model_dir}")
    return results


if __name__ == "__main__":
    sys.exit(run_command(main))
