"""Generation throughput of GPTCausalLM against keras-hub and transformers.

Greedy decoding on the `gpt_mini` config (4 layers, 256 hidden, 50257-token
vocabulary) with random weights: batch 8, prompts of 32 tokens, 96 new
tokens, no early stop. tfzoo, keras-hub's `GPT2CausalLM.generate` (XLA)
and transformers-PyTorch `generate` (when installed) run interleaved in
this one run; the script prints new tokens/s and the ratios.

    python benchmarks/generate_throughput.py
    python benchmarks/generate_throughput.py --repeats 2 --skip transformers
    python benchmarks/generate_throughput.py --train_steps 10  # + training
"""

import argparse
import os
import statistics
import time

from tfzoo.logs import import_tensorflow  # noqa: E402

import_tensorflow()  # first: quiet TensorFlow logs by default

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tfzoo  # noqa: E402

CONFIG = tfzoo.models.GPTBackbone.presets["gpt_mini"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--prompt_length", type=int, default=32)
    parser.add_argument("--new_tokens", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=5,
                        help="rounds; each framework generates once a round")
    parser.add_argument("--train_steps", type=int, default=0,
                        help="also time this many training steps (batch 8, "
                             "sequence 128) against keras-hub's GPT-2")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["keras_hub", "transformers"])
    return parser.parse_args()


def tfzoo_generator(prompts, new_tokens):
    model = tfzoo.models.GPTCausalLM.from_preset("gpt_mini")
    ids = prompts.tolist()

    def run():
        outputs = model.generate(ids, max_new_tokens=new_tokens,
                                 stop_token_ids=None)
        assert all(len(row) == prompts.shape[1] + new_tokens
                   for row in outputs)

    return run


def keras_hub_generator(prompts, new_tokens):
    import keras_hub

    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=CONFIG["vocabulary_size"],
        num_layers=CONFIG["num_layers"], num_heads=CONFIG["num_heads"],
        hidden_dim=CONFIG["hidden_dim"],
        intermediate_dim=CONFIG["intermediate_dim"],
        max_sequence_length=CONFIG["max_sequence_length"],
    )
    model = keras_hub.models.GPT2CausalLM(backbone=backbone,
                                          preprocessor=None)
    model.compile(sampler="greedy")
    total = prompts.shape[1] + new_tokens
    token_ids = np.zeros((len(prompts), total), "int32")
    token_ids[:, : prompts.shape[1]] = prompts
    padding_mask = np.zeros_like(token_ids, dtype=bool)
    padding_mask[:, : prompts.shape[1]] = True
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask}

    def run():
        outputs = model.generate(inputs, max_length=total,
                                 stop_token_ids=None)
        assert np.asarray(outputs["padding_mask"]).all()

    return run


def transformers_generator(prompts, new_tokens):
    import torch
    import transformers

    torch.set_num_threads(os.cpu_count())
    config = transformers.GPT2Config(
        vocab_size=CONFIG["vocabulary_size"], n_embd=CONFIG["hidden_dim"],
        n_layer=CONFIG["num_layers"], n_head=CONFIG["num_heads"],
        n_inner=CONFIG["intermediate_dim"],
        n_positions=CONFIG["max_sequence_length"],
    )
    model = transformers.GPT2LMHeadModel(config).eval()
    input_ids = torch.tensor(prompts, dtype=torch.long)

    def run():
        with torch.no_grad():
            outputs = model.generate(
                input_ids, attention_mask=torch.ones_like(input_ids),
                max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                do_sample=False, pad_token_id=0, eos_token_id=None,
            )
        assert outputs.shape[1] == prompts.shape[1] + new_tokens

    return run


def tokens_per_second(run, new_tokens):
    start = time.perf_counter()
    run()
    return new_tokens / (time.perf_counter() - start)


def train_tokens_per_second(args):
    """Training tokens/s of tfzoo's and keras-hub's GPT on gpt_mini."""
    import keras_hub

    batch, length = 8, 128
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(0, 50257, (batch * args.train_steps,
                                             length)).astype("int32"),
        "padding_mask": np.ones((batch * args.train_steps, length), "int32"),
    }
    y = rng.integers(0, 50257, x["token_ids"].shape).astype("int32")
    ours = tfzoo.models.GPTCausalLM.from_preset("gpt_mini")
    ours.compile()
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=50257, num_layers=4, num_heads=4, hidden_dim=256,
        intermediate_dim=1024, max_sequence_length=1024,
    )
    theirs = keras_hub.models.GPT2CausalLM(backbone, preprocessor=None)
    theirs.compile(optimizer=keras.optimizers.AdamW(1e-4),
                   loss=keras.losses.SparseCategoricalCrossentropy(
                       from_logits=True),
                   jit_compile=True)
    results = {}
    for name, model in (("tfzoo", ours), ("keras_hub", theirs)):
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0,
                  steps_per_epoch=2)  # compile
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        results[name] = x["token_ids"].size / (time.perf_counter() - start)
    return results


def main():
    args = parse_args()
    rng = np.random.default_rng(0)
    prompts = rng.integers(
        0, CONFIG["vocabulary_size"], (args.batch_size, args.prompt_length)
    ).astype("int32")
    generators = {"tfzoo": tfzoo_generator(prompts, args.new_tokens)}
    if "keras_hub" not in args.skip:
        generators["keras_hub"] = keras_hub_generator(prompts,
                                                      args.new_tokens)
    if "transformers" not in args.skip:
        try:
            generators["transformers"] = transformers_generator(
                prompts, args.new_tokens
            )
        except ImportError:
            print("transformers/torch not installed: skipped")
    new_tokens = args.batch_size * args.new_tokens
    for run in generators.values():
        run()  # compile / warm up
    rates = {name: [] for name in generators}
    for _ in range(args.repeats):
        for name, run in generators.items():
            rates[name].append(tokens_per_second(run, new_tokens))
    print(f"gpt_mini, batch {args.batch_size}, prompt {args.prompt_length}, "
          f"{args.new_tokens} new tokens, greedy; new tokens/s over "
          f"{args.repeats} rounds")
    ours = statistics.median(rates["tfzoo"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:13s} median {median:8.0f}  best {max(values):8.0f}"
              f"  tfzoo / {name}: {ours / median:.2f}x")
    if args.train_steps:
        training = train_tokens_per_second(args)
        print(f"training tokens/s (batch 8, sequence 128, "
              f"{args.train_steps} steps): " + ", ".join(
                  f"{name} {rate:.0f}" for name, rate in training.items())
              + f"; tfzoo / keras_hub: "
              f"{training['tfzoo'] / training['keras_hub']:.2f}x")


if __name__ == "__main__":
    main()
