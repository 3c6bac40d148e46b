"""Byte-level BPE tokenization throughput on one CPU thread.

Trains an 8,000-token GPT-2 style vocabulary on the standard library's
docstrings (offline), then tokenizes the bundled pretraining sentences in
`tf.data` batches with `BytePairTokenizer`, and reports words/s and
tokens/s. keras-hub's `BytePairTokenizer` (also in-graph) and Hugging
Face's Rust tokenizer (one thread) run on the same sentences and files in
the same run, when installed; the ids of all three are compared.

    python benchmarks/byte_pair_throughput.py [--sentences 20000]
"""

import argparse
import os
import tempfile
import time

from tfzoo.logs import import_tensorflow  # noqa: E402

import_tensorflow()  # first: quiet TensorFlow logs by default
os.environ.setdefault("RAYON_NUM_THREADS", "1")  # Rust tokenizers
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

from tfzoo.data import read_text_corpus, sample_path  # noqa: E402
from tfzoo.data.text_corpus import stdlib_docstrings_corpus  # noqa: E402
from tfzoo.tokenizers import (  # noqa: E402
    BytePairTokenizer,
    train_byte_pair_vocabulary,
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=20_000)
    parser.add_argument("--batch_size", type=int, default=1024)
    parser.add_argument("--vocabulary_size", type=int, default=8000)
    return parser.parse_args()


def tf_data_rate(tokenize, sentences, batch_size):
    """Seconds to tokenize `sentences` in one-thread tf.data, and the ids."""
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    dataset = (
        tf.data.Dataset.from_tensor_slices(sentences)
        .batch(batch_size)
        .map(lambda text: tokenize(text).to_tensor(-1))
        .with_options(options)
    )
    iterator = iter(dataset.repeat(2))
    for _ in range(len(sentences) // batch_size + 1):
        next(iterator)  # one pass to warm up (RE2 compiles, tables load)
    start = time.perf_counter()
    batches = [next(iterator) for _ in range(-(-len(sentences) // batch_size))]
    seconds = time.perf_counter() - start
    ids = [[i for i in row if i >= 0] for batch in batches
           for row in batch.numpy().tolist()]
    return seconds, ids


def main():
    args = parse_args()
    corpus = [" ".join(document) for document in stdlib_docstrings_corpus()]
    directory = tempfile.mkdtemp()
    train_byte_pair_vocabulary(corpus, args.vocabulary_size,
                               output_dir=directory)
    vocab_file = os.path.join(directory, "vocab.json")
    merges_file = os.path.join(directory, "merges.txt")
    base = [line for document in read_text_corpus(
        sample_path("pretrain_corpus.txt")) for line in document]
    sentences = (base * (args.sentences // len(base) + 1))[: args.sentences]
    words = sum(len(s.split()) for s in sentences)
    print(f"{len(sentences)} sentences ({words / len(sentences):.1f} words "
          f"on average), vocabulary {args.vocabulary_size}, batch "
          f"{args.batch_size}, one thread")

    tokenizer = BytePairTokenizer(vocab_file, merges_file)
    seconds, ours = tf_data_rate(tokenizer, sentences, args.batch_size)
    tokens = sum(map(len, ours))
    print(f"tfzoo BytePairTokenizer:    {words / seconds:>10,.0f} words/s "
          f"{tokens / seconds:>10,.0f} tokens/s")

    try:
        import keras_hub
    except ImportError:
        print("keras-hub not installed: no keras-hub anchor")
    else:
        import json

        with open(vocab_file, encoding="utf-8") as file:
            vocabulary = json.load(file)
        theirs = keras_hub.tokenizers.BytePairTokenizer(
            vocabulary, merges_file, unsplittable_tokens=["<|endoftext|>"]
        )
        seconds, ids = tf_data_rate(theirs, sentences, args.batch_size)
        same = sum(a == b for a, b in zip(ids, ours)) / len(ours)
        print(f"keras-hub BytePairTokenizer:{words / seconds:>10,.0f} words/s"
              f" {tokens / seconds:>10,.0f} tokens/s  (ids equal ours on "
              f"{same:.1%} of sentences)")

    try:
        import transformers
    except ImportError:
        print("transformers not installed: no Hugging Face anchor")
    else:
        reference = transformers.GPT2Tokenizer(vocab=vocab_file,
                                               merges=merges_file)
        reference(sentences[:100])
        start = time.perf_counter()
        ids = []
        for i in range(0, len(sentences), args.batch_size):
            ids += reference(sentences[i:i + args.batch_size])["input_ids"]
        seconds = time.perf_counter() - start
        same = sum(a == b for a, b in zip(ids, ours)) / len(ours)
        print(f"Hugging Face (Rust):        {words / seconds:>10,.0f} words/s"
              f" {tokens / seconds:>10,.0f} tokens/s  (ids equal ours on "
              f"{same:.1%} of sentences)")


if __name__ == "__main__":
    main()
