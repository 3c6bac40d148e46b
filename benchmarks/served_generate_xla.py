"""Served generation: `generate` against `generate_xla`, over gRPC.

A `gpt_mini`-sized GPTCausalLM (4 layers, 256 hidden, 50257-token
vocabulary) with random weights is exported with `xla_generate=True` and
served by `python -m serving.server --xla_cpu_compilation_enabled=true`.
Requests of 8 prompts of about 32 tokens go to two signatures in turn;
the script prints new tokens/s (median over rounds) and the ratio:

- greedy (`top_k=1`), for each `--new_tokens`: `generate` against
  `generate_xla`;
- greedy at the export's `max_new_tokens` (`--default_new_tokens`):
  `serving_default` (plain TensorFlow, argmax only) against
  `generate_xla`: XLA alone, same work;
- sampled (`top_k=40, top_p=0.9`) at that length: `generate` against
  `generate_xla`, both finding top-k/top-p thresholds at every step.

Each pair is called once untimed first (XLA compiles then), and the
script says whether both signatures gave the same ids.

The tokenizer is a BPE vocabulary trained on the bundled corpus, with
"<|endoftext|>" at GPT-2's id 50256, so ids the random model picks above
the trained ones detokenize to nothing; the counts are the served
`num_generated_tokens`.

    python benchmarks/served_generate_xla.py
    python benchmarks/served_generate_xla.py --new_tokens 32 96 --rounds 5
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfzoo.logs import import_tensorflow  # noqa: E402

import_tensorflow()  # first: quiet TensorFlow logs by default

import numpy as np  # noqa: E402

from serving.client import GrpcPredictionClient  # noqa: E402
from serving.local_server import LocalServer  # noqa: E402
from tfzoo.data import read_text_corpus  # noqa: E402
from tfzoo.data import sample_path  # noqa: E402
from tfzoo.export import export_saved_model  # noqa: E402
from tfzoo.models import GPTCausalLM  # noqa: E402
from tfzoo.tokenizers import BytePairTokenizer  # noqa: E402
from tfzoo.tokenizers import train_byte_pair_vocabulary  # noqa: E402

END_OF_TEXT = "<|endoftext|>"
SIGNATURES = ("generate", "generate_xla")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--prompt_tokens", type=int, default=32)
    parser.add_argument("--new_tokens", type=int, nargs="+",
                        default=[32, 64, 96])
    parser.add_argument("--default_new_tokens", type=int, default=64,
                        help="the export's max_new_tokens (serving_default)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="timed requests per signature and setting")
    return parser.parse_args()


def tokenizer_and_texts():
    """A BPE tokenizer with <|endoftext|> at 50256, and corpus lines."""
    texts = [" ".join(document) for document in
             read_text_corpus(sample_path("pretrain_corpus.txt"))]
    vocabulary, merges = train_byte_pair_vocabulary(texts, 4000)
    vocabulary = {token: index for token, index in vocabulary.items()
                  if token != END_OF_TEXT}
    vocabulary[END_OF_TEXT] = 50256
    return BytePairTokenizer(vocabulary=vocabulary, merges=merges), texts


def prompts_of(tokenizer, texts, count, num_tokens):
    """`count` corpus texts cut to `num_tokens` tokens (or just under)."""
    prompts = []
    for text in texts:
        ids = tokenizer.tokenize(text).numpy()
        if len(ids) >= num_tokens:
            prompt = tokenizer.detokenize(ids[:num_tokens]).numpy().decode()
            prompts.append(prompt)
        if len(prompts) == count:
            return prompts
    raise ValueError(f"The corpus has fewer than {count} texts of "
                     f"{num_tokens} tokens.")


def request(prompts, new_tokens, top_k=1, top_p=1.0):
    count = len(prompts)
    return {
        "prompt": prompts,
        "max_new_tokens": np.full(count, new_tokens, "int32"),
        "temperature": np.ones(count, "float32"),
        "top_k": np.full(count, top_k, "int32"),
        "top_p": np.full(count, top_p, "float32"),
        "seed": np.arange(count, dtype="int32"),
    }


def compare(client, pair, rounds):
    """(median new tokens/s of each signature, same ids?) of a pair of
    `(signature, inputs)`, called in turn."""
    first = [client.predict(inputs, signature_name=name)
             for name, inputs in pair]
    same = np.array_equal(first[0]["generated_token_ids"],
                          first[1]["generated_token_ids"])
    rates = [[], []]
    for _ in range(rounds):
        for index, (name, inputs) in enumerate(pair):
            start = time.perf_counter()
            outputs = client.predict(inputs, signature_name=name)
            seconds = time.perf_counter() - start
            rates[index].append(
                outputs["num_generated_tokens"].sum() / seconds)
    return [statistics.median(r) for r in rates], same


def main():
    args = parse_args()
    tokenizer, texts = tokenizer_and_texts()
    prompts = prompts_of(tokenizer, texts, args.batch_size,
                         args.prompt_tokens)
    lengths = [len(tokenizer.tokenize(p).numpy()) for p in prompts]
    model = GPTCausalLM.from_preset("gpt_mini", tokenizer=tokenizer)
    with tempfile.TemporaryDirectory(prefix="served_xla-") as directory:
        serve_and_time(args, model, prompts, lengths, directory)


def serve_and_time(args, model, prompts, lengths, directory):
    """Exports `model` into `directory`, serves it, prints the table."""
    base_path = os.path.join(directory, "gpt")
    export_saved_model(model, base_path, xla_generate=True,
                       max_new_tokens=args.default_new_tokens)
    print(f"batch {len(prompts)}, prompt tokens {min(lengths)}-"
          f"{max(lengths)}, gpt_mini random weights, "
          f"{args.rounds} rounds")
    default = args.default_new_tokens
    cases = [
        (f"greedy, {new_tokens} new", [
            ("generate", request(prompts, new_tokens)),
            ("generate_xla", request(prompts, new_tokens))])
        for new_tokens in args.new_tokens
    ] + [
        (f"greedy, {default} new", [
            ("serving_default", {"prompt": prompts}),
            ("generate_xla", request(prompts, default))]),
        (f"top_k=40 top_p=0.9, {default} new", [
            ("generate", request(prompts, default, 40, 0.9)),
            ("generate_xla", request(prompts, default, 40, 0.9))]),
    ]
    flags = ["--model_name=gpt", f"--model_base_path={base_path}",
             "--xla_cpu_compilation_enabled=true"]
    with LocalServer(flags, "gpt", os.path.join(directory, "log")) as server:
        with GrpcPredictionClient("gpt", port=server.grpc_port,
                                  timeout=600) as client:
            print("| request | signature | new tokens/s | signature | "
                  "new tokens/s | ratio | same ids |")
            print("| --- | --- | ---: | --- | ---: | ---: | --- |")
            for label, pair in cases:
                (plain, xla), same = compare(client, pair, args.rounds)
                print(f"| {label} | `{pair[0][0]}` | {plain:,.0f} | "
                      f"`{pair[1][0]}` | {xla:,.0f} | {xla / plain:.2f}x | "
                      f"{'yes' if same else 'no'} |", flush=True)


if __name__ == "__main__":
    main()
