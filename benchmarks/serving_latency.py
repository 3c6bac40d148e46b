"""Serving latency and throughput of a raw-text bert_mini classifier.

Exports a `bert_mini` BertClassifier (raw text in, tokenized in the graph),
then, in this one run, measures:

- in-process: the exported SavedModel's `serving_default` called in this
  process, one sentence a call (the anchor);
- gRPC through `python -m serving.server`, one sentence a request, with 1
  and with 8 concurrent clients, with batching off and on. The single
  client alternates with the in-process calls in blocks of 10.

It prints p50/p99 latency and requests/s, the p50 ratio to in-process
(target: at most 1.3 at concurrency 1) and the batching speedup (target:
requests/s at concurrency 8 with batching at least 3x concurrency 1).

    python benchmarks/serving_latency.py
    python benchmarks/serving_latency.py --requests 100 --rounds 2
"""

import argparse
import concurrent.futures
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfzoo.logs import import_tensorflow  # noqa: E402

import_tensorflow()  # first: quiet TensorFlow logs by default

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401

from serving.client import GrpcPredictionClient  # noqa: E402
from serving.local_server import LocalServer  # noqa: E402
from tfzoo.data import read_classification_file  # noqa: E402
from tfzoo.data import sample_path  # noqa: E402
from tfzoo.export import export_saved_model  # noqa: E402
from tfzoo.models import BertClassifier  # noqa: E402
from tfzoo.preprocessing import BertClassifierPreprocessor  # noqa: E402
from tfzoo.tokenizers import WordPieceTokenizer  # noqa: E402
from tfzoo.tokenizers import train_word_piece_vocabulary  # noqa: E402

BATCHING_CONFIG = """
max_batch_size { value: 8 }
batch_timeout_micros { value: 4000 }
num_batch_threads { value: 1 }
max_enqueued_batches { value: 100 }
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="bert_mini")
    parser.add_argument("--sequence_length", type=int, default=128)
    parser.add_argument("--requests", type=int, default=200,
                        help="timed requests per client and setting")
    parser.add_argument("--rounds", type=int, default=3,
                        help="in-process and gRPC alternate this many times")
    return parser.parse_args()


def export_classifier(args, directory):
    train, _ = read_classification_file(sample_path("sentiment_train.jsonl"))
    vocabulary = train_word_piece_vocabulary(train["text"], 2000)
    preprocessor = BertClassifierPreprocessor(
        WordPieceTokenizer(vocabulary), sequence_length=args.sequence_length,
        label_names=["negative", "positive"],
    )
    model = BertClassifier.from_preset(
        args.preset, vocabulary_size=len(vocabulary),
        max_sequence_length=args.sequence_length, preprocessor=preprocessor,
    )
    export_saved_model(model, os.path.join(directory, "reviews"))
    return list(train["text"])


def timed_calls(call, texts, count):
    latencies = []
    for index in range(count):
        start = time.perf_counter()
        call(texts[index % len(texts)])
        latencies.append(time.perf_counter() - start)
    return latencies


def run_clients(make_client, texts, clients, count):
    """Latencies of `clients` threads each sending `count` requests."""
    def one_client(offset):
        client = make_client()
        texts_shifted = texts[offset:] + texts[:offset]
        try:
            return timed_calls(
                lambda text: client.predict({"text": [text]}),
                texts_shifted, count,
            )
        finally:
            client.close()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one_client, range(clients)))
    elapsed = time.perf_counter() - start
    latencies = [value for result in results for value in result]
    return latencies, clients * count / elapsed


def summary(latencies, requests_per_second=None):
    p50 = np.percentile(latencies, 50) * 1000
    p99 = np.percentile(latencies, 99) * 1000
    rate = requests_per_second or len(latencies) / sum(latencies)
    return p50, p99, rate


def serve_and_measure(directory, texts, args, batching, in_process):
    flags = ["--model_name=reviews",
             f"--model_base_path={os.path.join(directory, 'reviews')}"]
    if batching:
        config = os.path.join(directory, "batching.config")
        with open(config, "w") as file:
            file.write(BATCHING_CONFIG)
        flags += ["--enable_batching", f"--batching_parameters_file={config}"]
    results = {"in-process": [], "c1": [], "c8": []}
    rates = {"c1": [], "c8": []}
    log_path = os.path.join(directory, f"server-{batching}.log")
    with LocalServer(flags, "reviews", log_path) as server:
        def make_client():
            return GrpcPredictionClient("reviews", port=server.grpc_port)

        run_clients(make_client, texts, 8, 10)  # connections, first calls
        client = make_client()
        for _ in range(args.rounds):
            # In-process and one gRPC client alternate in blocks of 10
            # calls, so both see the same moments of this noisy machine.
            for block in range(0, args.requests, 10):
                results["in-process"] += timed_calls(
                    in_process, texts[block:] + texts[:block], 10)
                results["c1"] += timed_calls(
                    lambda text: client.predict({"text": [text]}),
                    texts[block:] + texts[:block], 10,
                )
            latencies, rate = run_clients(
                make_client, texts, 8, args.requests // 8
            )
            results["c8"] += latencies
            rates["c8"].append(rate)
        client.close()
    rates["c1"] = [len(results["c1"]) / sum(results["c1"])]
    return results, {key: statistics.median(v) for key, v in rates.items()}


def main():
    args = parse_args()
    with tempfile.TemporaryDirectory() as directory:
        texts = export_classifier(args, directory)
        model = tf.saved_model.load(os.path.join(directory, "reviews", "1"))
        signature = model.signatures["serving_default"]

        def in_process(text):
            outputs = signature(text=tf.constant([text]))
            return {name: value.numpy() for name, value in outputs.items()}

        timed_calls(in_process, texts, 20)
        print(f"{args.preset}, sequence {args.sequence_length}, one sentence "
              f"a request, {args.rounds} interleaved rounds")
        print(f"{'setting':34s} {'p50 ms':>8s} {'p99 ms':>8s} {'req/s':>8s}")
        anchor = {}
        rates = {}
        for batching in (False, True):
            results, rate = serve_and_measure(directory, texts, args,
                                              batching, in_process)
            label = "batching on" if batching else "batching off"
            rows = [("in-process signature call", results["in-process"],
                     None),
                    (f"gRPC, 1 client, {label}", results["c1"], rate["c1"]),
                    (f"gRPC, 8 clients, {label}", results["c8"], rate["c8"])]
            for name, latencies, requests_per_second in rows:
                p50, p99, per_second = summary(latencies, requests_per_second)
                print(f"{name:34s} {p50:8.2f} {p99:8.2f} {per_second:8.1f}")
            anchor[batching] = (summary(results["in-process"])[0],
                                summary(results["c1"])[0])
            rates[batching] = rate
        in_process_p50, grpc_p50 = anchor[False]
        print(f"\ngRPC p50 / in-process p50 at concurrency 1 (batching off): "
              f"{grpc_p50 / in_process_p50:.2f} (target <= 1.3)")
        print(f"requests/s at concurrency 8 / concurrency 1, batching on: "
              f"{rates[True]['c8'] / rates[True]['c1']:.2f} (target >= 3)")
        print(f"requests/s at concurrency 8 with batching / concurrency 1 "
              f"without: {rates[True]['c8'] / rates[False]['c1']:.2f}")
        print(f"requests/s at concurrency 8 with batching / without: "
              f"{rates[True]['c8'] / rates[False]['c8']:.2f}")


if __name__ == "__main__":
    main()
