"""Serving latency and throughput: a raw-text bert_mini classifier, then a
sustained mixed load over four models.

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

Mixed load (issue 18, item 6): exports four models with random weights
and vocabularies trained on the bundled samples (`tfzoo/data/samples/`) --
a bert_mini BertClassifier, BertTokenClassifier and BertQuestionAnswerer
(one WordPiece vocabulary) and a gpt_mini GPTCausalLM (byte-pair
vocabulary) -- and serves all four from ONE server process (a
`--model_config_file`, `--enable_batching` with
`serving/config/batching.config`, `--enable_model_warmup`). Then
`--mixed_load_clients` threads send requests for `--mixed_load_seconds`,
each thread cycling through the classifier's `serving_default`, the token
classifier's and the question answerer's `serving_default` and GPT
`generate` (sampled, `--mixed_max_new_tokens` new tokens), one raw-text
example a request from the samples. Every answer is checked (status OK,
the signature's output keys, batch dimension 1 and the shapes and
invariants of its outputs); a failed request is never retried. It prints,
per signature and in total: requests, errors, p50/p99 latency and
requests/s, with the load average before and after (the machine is
shared: other processes slow the figures down). Exits with status 1 if
any request failed.

    python benchmarks/serving_latency.py
    python benchmarks/serving_latency.py --requests 100 --rounds 2
    python benchmarks/serving_latency.py --only mixed \\
        --mixed_load_clients 16 --mixed_load_seconds 60
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
from serving.local_server import REPOSITORY  # noqa: E402
from tfzoo.data import read_classification_file  # noqa: E402
from tfzoo.data import read_conll  # noqa: E402
from tfzoo.data import read_squad  # noqa: E402
from tfzoo.data import read_text_corpus  # noqa: E402
from tfzoo.data import sample_path  # noqa: E402
from tfzoo.export import export_saved_model  # noqa: E402
from tfzoo.models import BertClassifier  # noqa: E402
from tfzoo.models import BertQuestionAnswerer  # noqa: E402
from tfzoo.models import BertTokenClassifier  # noqa: E402
from tfzoo.models import GPTCausalLM  # noqa: E402
from tfzoo.preprocessing import BertClassifierPreprocessor  # noqa: E402
from tfzoo.preprocessing import BertQuestionAnswererPreprocessor  # noqa: E402
from tfzoo.preprocessing import BertTokenClassifierPreprocessor  # noqa: E402
from tfzoo.tokenizers import BytePairTokenizer  # noqa: E402
from tfzoo.tokenizers import WordPieceTokenizer  # noqa: E402
from tfzoo.tokenizers import train_byte_pair_vocabulary  # noqa: E402
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
    parser.add_argument("--only", choices=["all", "single", "mixed"],
                        default="all",
                        help="single: the bert_mini classifier section; "
                             "mixed: the four-model mixed load")
    parser.add_argument("--mixed_load_clients", type=int, default=16,
                        help="client threads of the mixed load")
    parser.add_argument("--mixed_load_seconds", type=float, default=60,
                        help="how long the mixed load runs")
    parser.add_argument("--mixed_max_new_tokens", type=int, default=8,
                        help="new tokens of each GPT generate request")
    parser.add_argument("--gpt_preset", default="gpt_mini")
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


def measure_single_classifier(args, directory):
    """The bert_mini classifier section (see the module doc)."""
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


# --- Mixed load: four models behind one batching server --------------------

MIXED_BATCHING_CONFIG = os.path.join(REPOSITORY, "serving", "config",
                                     "batching.config")
SENTIMENT_LABELS = ["negative", "positive"]
CLASSIFIER_OUTPUTS = {"logits", "probabilities", "label_ids", "label_names"}
TOKEN_CLASSIFIER_OUTPUTS = {
    "words", "word_starts", "word_ends", "word_label_ids", "word_labels",
    "word_scores", "num_words", "num_labeled_words", "entity_texts",
    "entity_labels", "entity_starts", "entity_ends", "num_entities",
}
QA_OUTPUTS = {"answer_text", "answer_start", "answer_end", "score"}
GENERATE_OUTPUTS = {"generated_text", "text", "generated_token_ids",
                    "num_generated_tokens"}


class MixedSignature:
    """One signature of the mixed load: which model and signature, the
    requests it cycles through and `check(request, outputs)`, which raises
    AssertionError on a wrong answer."""

    def __init__(self, label, model, signature_name, requests, check):
        self.label = label
        self.model = model
        self.signature_name = signature_name
        self.requests = requests
        self.check = check


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def check_outputs(outputs, names, shapes):
    """The output keys are `names`; `shapes` maps some of them to their
    shape (None: any size in that dimension)."""
    expect(set(outputs) == names, f"outputs {sorted(outputs)}")
    for name, shape in shapes.items():
        actual = np.shape(outputs[name])
        expect(len(actual) == len(shape) and all(
            want is None or want == got for want, got in zip(shape, actual)
        ), f"{name} has shape {actual}, expected {shape}")


def export_mixed_models(args, directory):
    """Exports the four models to `directory/<name>`; returns the model
    config file's path and the `MixedSignature`s, with their requests."""
    sequence_length = args.sequence_length
    sentiment, _ = read_classification_file(sample_path("sentiment_test.jsonl"))
    ner_sentences, ner_tags, _ = read_conll(sample_path("ner_train.conll"))
    ner_test, _, _ = read_conll(sample_path("ner_test.conll"))
    squad, _ = read_squad(sample_path("qa_test.json"))
    squad_train, _ = read_squad(sample_path("qa_train.json"))
    corpus = [" ".join(document) for document in
              read_text_corpus(sample_path("pretrain_corpus.txt"))]
    train_sentiment, _ = read_classification_file(
        sample_path("sentiment_train.jsonl"))

    # One WordPiece vocabulary for the three BERT models.
    word_piece_texts = (
        list(train_sentiment["text"])
        + [" ".join(words) for words in ner_sentences]
        + [example["question"] + " " + example["context"]
           for example in squad_train]
    )
    tokenizer = WordPieceTokenizer(
        train_word_piece_vocabulary(word_piece_texts, 4000))
    entity_labels = sorted({tag for tags in ner_tags for tag in tags})
    common = dict(vocabulary_size=tokenizer.vocabulary_size,
                  max_sequence_length=sequence_length)
    classifier = BertClassifier.from_preset(
        args.preset, **common, preprocessor=BertClassifierPreprocessor(
            tokenizer, sequence_length=sequence_length,
            label_names=SENTIMENT_LABELS))
    token_classifier = BertTokenClassifier.from_preset(
        args.preset, **common, num_classes=len(entity_labels),
        preprocessor=BertTokenClassifierPreprocessor(
            tokenizer, sequence_length=sequence_length,
            label_names=entity_labels))
    question_answerer = BertQuestionAnswerer.from_preset(
        args.preset, **common, preprocessor=BertQuestionAnswererPreprocessor(
            tokenizer, sequence_length=sequence_length,
            doc_stride=sequence_length // 4))
    vocabulary, merges = train_byte_pair_vocabulary(corpus, 2000)
    byte_pair = BytePairTokenizer(vocabulary=vocabulary, merges=merges)
    generator = GPTCausalLM.from_preset(
        args.gpt_preset, vocabulary_size=byte_pair.vocabulary_size,
        max_sequence_length=sequence_length, tokenizer=byte_pair)
    models = {"reviews": classifier, "entities": token_classifier,
              "answers": question_answerer, "writer": generator}
    for name, model in models.items():
        start = time.perf_counter()
        export_saved_model(model, os.path.join(directory, name),
                           max_new_tokens=(args.mixed_max_new_tokens
                                           if name == "writer" else None))
        print(f"exported {name} ({type(model).__name__}) in "
              f"{time.perf_counter() - start:.0f} s", flush=True)

    # Requests: one example each, from the samples' test splits.
    ner_texts = [" ".join(words) for words in ner_test[:64]]
    num_words = token_classifier.predict_words(ner_texts)["num_words"]
    expected_words = dict(zip(ner_texts, (int(n) for n in num_words)))
    prompts = [" ".join(document[0].split()[:6]) for document in
               read_text_corpus(sample_path("pretrain_corpus.txt"))][:64]
    max_new = args.mixed_max_new_tokens

    def check_classifier(request, outputs):
        check_outputs(outputs, CLASSIFIER_OUTPUTS, {
            "logits": (1, 2), "probabilities": (1, 2), "label_ids": (1,),
            "label_names": (1,)})
        expect(outputs["label_names"][0] in SENTIMENT_LABELS,
               f"label {outputs['label_names'][0]!r}")

    def check_token_classifier(request, outputs):
        check_outputs(outputs, TOKEN_CLASSIFIER_OUTPUTS, {
            name: (1, None) for name in TOKEN_CLASSIFIER_OUTPUTS
            if not name.startswith("num_")} | {
            name: (1,) for name in TOKEN_CLASSIFIER_OUTPUTS
            if name.startswith("num_")})
        words = int(outputs["num_words"][0])
        expect(words == expected_words[request["text"][0]],
               f"{words} words, in-process "
               f"{expected_words[request['text'][0]]}")
        expect(outputs["words"].shape[1] >= words, "words cut")

    def check_question_answerer(request, outputs):
        check_outputs(outputs, QA_OUTPUTS,
                      {name: (1,) for name in QA_OUTPUTS})
        start = int(outputs["answer_start"][0])
        end = int(outputs["answer_end"][0])
        expect(request["context"][0][start:end] == outputs["answer_text"][0],
               f"answer {outputs['answer_text'][0]!r} is not "
               f"context[{start}:{end}]")

    def check_generate(request, outputs):
        check_outputs(outputs, GENERATE_OUTPUTS, {
            "generated_text": (1,), "text": (1,),
            "generated_token_ids": (1, None), "num_generated_tokens": (1,)})
        count = int(outputs["num_generated_tokens"][0])
        expect(0 <= count <= max_new, f"{count} new tokens")
        expect(str(outputs["text"][0]).startswith(request["prompt"][0]),
               "text does not start with the prompt")

    def generate_request(index):
        return {
            "prompt": [prompts[index % len(prompts)]],
            "max_new_tokens": np.array([max_new], "int32"),
            "temperature": np.array([0.8], "float32"),
            "top_k": np.array([40], "int32"),
            "top_p": np.array([0.95], "float32"),
            "seed": np.array([index], "int32"),
        }

    signatures = [
        MixedSignature("classifier serving_default", "reviews",
                       "serving_default",
                       [{"text": [text]} for text in sentiment["text"]],
                       check_classifier),
        MixedSignature("token classifier serving_default", "entities",
                       "serving_default",
                       [{"text": [text]} for text in ner_texts],
                       check_token_classifier),
        MixedSignature("QA serving_default", "answers", "serving_default",
                       [{"question": [example["question"]],
                         "context": [example["context"]]}
                        for example in squad[:64]],
                       check_question_answerer),
        MixedSignature(f"GPT generate ({max_new} new tokens)", "writer",
                       "generate", [generate_request(i) for i in range(64)],
                       check_generate),
    ]
    config = os.path.join(directory, "models.config")
    with open(config, "w") as file:
        file.write("model_config_list {\n")
        for name in models:
            file.write(f'  config {{ name: "{name}" base_path: '
                       f'"{os.path.join(directory, name)}" '
                       f'model_platform: "tensorflow" }}\n')
        file.write("}\n")
    return config, signatures


def mixed_load(port, signatures, clients, seconds):
    """`clients` threads, each cycling through `signatures` (thread i
    starting at signature i) until `seconds` have passed. Returns per
    signature label `(latencies of answers that passed, error messages)`
    and the wall seconds from start to the last thread's end."""
    deadline = time.monotonic() + seconds

    def one_client(offset):
        stubs = {
            signature.model: GrpcPredictionClient(
                signature.model, port=port, max_attempts=1, timeout=60)
            for signature in signatures
        }
        latencies = {signature.label: [] for signature in signatures}
        errors = {signature.label: [] for signature in signatures}
        step = offset
        try:
            while time.monotonic() < deadline:
                signature = signatures[step % len(signatures)]
                request = signature.requests[
                    (step // len(signatures)) % len(signature.requests)]
                step += 1
                start = time.perf_counter()
                try:
                    outputs = stubs[signature.model].predict(
                        request, signature_name=signature.signature_name)
                    latency = time.perf_counter() - start
                    signature.check(request, outputs)
                except Exception as error:  # noqa: BLE001  (counted)
                    errors[signature.label].append(
                        f"{type(error).__name__}: {error}")
                else:
                    latencies[signature.label].append(latency)
        finally:
            for stub in stubs.values():
                stub.close()
        return latencies, errors

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one_client, range(clients)))
    elapsed = time.perf_counter() - start
    merged = {signature.label: ([], []) for signature in signatures}
    for latencies, errors in results:
        for label in merged:
            merged[label][0].extend(latencies[label])
            merged[label][1].extend(errors[label])
    return merged, elapsed


def load_averages():
    return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def run_mixed_load(args, directory):
    """The mixed-load section; returns the number of failed requests."""
    config, signatures = export_mixed_models(args, directory)
    flags = [f"--model_config_file={config}", "--enable_batching",
             f"--batching_parameters_file={MIXED_BATCHING_CONFIG}",
             "--enable_model_warmup"]
    log_path = os.path.join(directory, "server-mixed.log")
    start = time.perf_counter()
    with LocalServer(flags, "writer", log_path) as server:
        for signature in signatures:  # every model loaded, answers once
            with GrpcPredictionClient(signature.model,
                                      port=server.grpc_port) as client:
                for request in signature.requests[:2]:
                    signature.check(request, client.predict(
                        request, signature_name=signature.signature_name))
        print(f"server with 4 models up in {time.perf_counter() - start:.0f}"
              f" s; warming up ({args.mixed_load_clients} clients, 5 s)...",
              flush=True)
        warmup, _ = mixed_load(server.grpc_port, signatures,
                               args.mixed_load_clients, 5)
        warmup_errors = sum(len(errors) for _, errors in warmup.values())
        print(f"warm-up: {warmup_errors} errors (not in the table; they fail "
              f"the run too)")
        before = load_averages()
        results, elapsed = mixed_load(server.grpc_port, signatures,
                                      args.mixed_load_clients,
                                      args.mixed_load_seconds)
        after = load_averages()
    print(f"\nmixed load: {args.mixed_load_clients} clients for "
          f"{elapsed:.1f} s, one server, 4 models ({args.preset} x3, "
          f"{args.gpt_preset}), sequence {args.sequence_length}, batching on "
          f"({os.path.relpath(MIXED_BATCHING_CONFIG, REPOSITORY)}), "
          f"{os.cpu_count()} CPUs")
    print(f"before: {before}")
    print(f"after:  {after}  (shared machine: other processes' load "
          f"slows these figures)")
    header = (f"{'signature':36s} {'requests':>8s} {'errors':>6s} "
              f"{'p50 ms':>8s} {'p99 ms':>8s} {'req/s':>7s}")
    print(header)
    all_latencies, all_errors = [], []
    for signature in signatures:
        latencies, errors = results[signature.label]
        all_latencies += latencies
        all_errors += errors
        print(mixed_row(signature.label, latencies, errors, elapsed))
    print(mixed_row("total", all_latencies, all_errors, elapsed))
    for message in sorted(set(all_errors))[:10]:
        print(f"error ({all_errors.count(message)}x): {message[:300]}")
    return len(all_errors) + warmup_errors


def mixed_row(label, latencies, errors, elapsed):
    requests = len(latencies) + len(errors)
    if latencies:
        p50, p99 = (np.percentile(latencies, q) * 1000 for q in (50, 99))
    else:
        p50 = p99 = float("nan")
    return (f"{label:36s} {requests:8d} {len(errors):6d} {p50:8.1f} "
            f"{p99:8.1f} {requests / elapsed:7.1f}")


def main():
    args = parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as directory:
        if args.only != "mixed":
            measure_single_classifier(args, directory)
        if args.only != "single":
            failed = run_mixed_load(args, directory)
    if failed:
        print(f"\nFAILED: {failed} mixed-load requests failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
