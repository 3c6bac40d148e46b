"""Tokenize + pack throughput of the BERT preprocessing on one CPU core.

Runs `BertClassifierPreprocessor` (WordPiece tokenizer + packer) over the
bundled short reviews in a `tf.data` pipeline restricted to one thread,
and reports sentences/s; Hugging Face's Rust tokenizer (one thread) on the
same sentences is the anchor when transformers is installed.

    python benchmarks/preprocessing_throughput.py [--sentences 100000]
"""

import argparse
import os
import time

from tfzoo.logs import import_tensorflow  # noqa: E402

import_tensorflow()  # first: quiet TensorFlow logs by default
os.environ.setdefault("RAYON_NUM_THREADS", "1")  # Rust tokenizers
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

from tfzoo.data import read_classification_file, sample_path  # noqa: E402
from tfzoo.preprocessing import BertClassifierPreprocessor  # noqa: E402
from tfzoo.tokenizers import (  # noqa: E402
    WordPieceTokenizer,
    train_word_piece_vocabulary,
)

TARGET = 20_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument("--batch_size", type=int, default=1024)
    parser.add_argument("--sequence_length", type=int, default=64)
    return parser.parse_args()


def main():
    args = parse_args()
    examples, _ = read_classification_file(
        sample_path("sentiment_train.jsonl")
    )
    texts = examples["text"]
    sentences = (texts * (args.sentences // len(texts) + 1))[: args.sentences]
    vocabulary = train_word_piece_vocabulary(texts, 2000)
    preprocessor = BertClassifierPreprocessor(
        WordPieceTokenizer(vocabulary), sequence_length=args.sequence_length
    )
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    dataset = (
        tf.data.Dataset.from_tensor_slices(sentences)
        .batch(args.batch_size)
        .map(preprocessor)
        .with_options(options)
    )
    for _ in dataset.take(2):  # warm up
        pass
    start = time.perf_counter()
    count = 0
    for batch in dataset:
        count += int(batch["token_ids"].shape[0])
    ours = count / (time.perf_counter() - start)
    words = sum(len(s.split()) for s in sentences) / len(sentences)
    print(f"{count} sentences ({words:.1f} words on average), batch "
          f"{args.batch_size}, one thread")
    print(f"tfzoo tokenize + pack:        {ours:>10,.0f} sentences/s  "
          f"({ours / TARGET:.2f}x the {TARGET:,}/s target)")

    try:
        import tempfile

        import transformers
    except ImportError:
        print("transformers not installed: no Hugging Face anchor")
        return
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "vocab.txt")
        with open(path, "w", encoding="utf-8") as file:
            file.write("\n".join(vocabulary) + "\n")
        reference = transformers.BertTokenizerFast(path)
        start = time.perf_counter()
        for index in range(0, len(sentences), args.batch_size):
            reference(
                sentences[index : index + args.batch_size],
                max_length=args.sequence_length, truncation=True,
                padding="max_length",
            )
        theirs = len(sentences) / (time.perf_counter() - start)
    print(f"Hugging Face tokenizers:      {theirs:>10,.0f} sentences/s  "
          f"(tfzoo is {ours / theirs:.2f}x)")


if __name__ == "__main__":
    main()
