"""Seq2seq generation and training throughput of T5Seq2SeqLM against
keras-hub and transformers.

The `t5_small` shape (6 encoder and 6 decoder layers, d_model 512, 8 heads,
d_ff 2048, vocabulary 32128, ReLU MLP, tied head) with random weights:
batch 8, sources of 64 random tokens. Three sections, each run with its
frameworks interleaved in this one process (one call each per round, after
an untimed call that compiles):

- greedy: 64 new tokens a row, no early stop (`stop_token_ids=None`;
  transformers `min_new_tokens=max_new_tokens`), each call encoding the
  sources and decoding. tfzoo's `generate` against keras-hub's
  `T5Seq2SeqLM.generate` (greedy sampler, XLA) and transformers-PyTorch
  `T5ForConditionalGeneration.generate`. Rate: new tokens/s, batch x 64
  over the call's wall time.
- beam: the same with 4 beams (tfzoo `sampler="beam"`, transformers
  `num_beams=4`), new tokens/s of the returned rows; no keras-hub (its
  beam sampler is a different search and not asked for here).
- train: `--train_steps` steps of `model.fit` (tfzoo and keras-hub, XLA,
  AdamW; keras-hub also at its default, no XLA on CPU) and a plain
  PyTorch loop (AdamW, gradient clipping), batch 8, source 64, target 64,
  dropout 0.1 as the preset. Rate: (source + target) tokens/s.

For each it prints the median rate over rounds, the best round, and "tfzoo
is": the median over rounds of the other's time over tfzoo's in the same
round. The float32 matmul peak, the load average (other processes share
the cores) and, for greedy, the weight bytes a decode step reads are
printed with them. `--sections breakdown` times the parts of tfzoo's
greedy call (encoder, decoder steps, output projection) as separate XLA
programs.

    python benchmarks/seq2seq_generate_throughput.py
    python benchmarks/seq2seq_generate_throughput.py --rounds 5 --sections greedy
    python benchmarks/seq2seq_generate_throughput.py --skip keras_hub
    python benchmarks/seq2seq_generate_throughput.py --sections breakdown
    python benchmarks/seq2seq_generate_throughput.py --shape t5_tiny \\
        --rounds 1 --train_steps 1      # smoke check, a few minutes
"""

import argparse
import os
import statistics
import warnings

from tfzoo.logs import import_tensorflow  # noqa: E402

import_tensorflow()  # first: quiet TensorFlow logs by default

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tfzoo  # noqa: E402
from benchmark_common import (  # noqa: E402
    in_round_ratio,
    keras_fit_runner,
    load_average,
    measure_interleaved,
    measure_matmul_peak,
    torch_training_runner,
)
from tfzoo.models.t5.hf_t5 import hf_config  # noqa: E402

SECTIONS = ("greedy", "beam", "train", "breakdown")
DEFAULT_SECTIONS = ("greedy", "beam", "train")
# keras-hub's T5 layers warn at every call that they drop Keras masks.
warnings.filterwarnings("ignore", message=".*does not support masking")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", default="t5_small",
                        choices=["t5_small", "t5_tiny"],
                        help="a T5 preset's shape (random weights)")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--source_length", type=int, default=64)
    parser.add_argument("--new_tokens", type=int, default=64,
                        help="new tokens a row; also the training target "
                             "length")
    parser.add_argument("--num_beams", type=int, default=4)
    parser.add_argument("--rounds", "--repeats", type=int, default=3,
                        help="rounds; each framework runs once a round")
    parser.add_argument("--train_steps", type=int, default=5,
                        help="timed training steps per framework and round")
    parser.add_argument("--sections", nargs="+",
                        default=list(DEFAULT_SECTIONS), choices=SECTIONS,
                        help="breakdown: where tfzoo's greedy time goes")
    parser.add_argument("--torch_threads", type=int, default=os.cpu_count(),
                        help="PyTorch's intra-op threads (default: every "
                             "core; on a busy machine 1 can be faster)")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["keras_hub", "transformers"],
                        help="anchors to leave out")
    return parser.parse_args()


def backbone_config(args):
    return dict(tfzoo.models.T5Backbone.presets[args.shape])


def random_sources(args, config, seed=0):
    """Source ids `[batch, source_length]`, none of them pad (0) or </s>."""
    rng = np.random.default_rng(seed)
    return rng.integers(2, config["vocabulary_size"],
                        (args.batch_size, args.source_length)
                        ).astype("int32")


# ----------------------------------------------------------- generation --

def tfzoo_generator(model, sources, args, **options):
    """`run(calls)`: tfzoo's `generate` on the sources, never stopping."""
    ids = sources.tolist()

    def run(calls):
        for _ in range(calls):
            outputs = model.generate(ids, max_new_tokens=args.new_tokens,
                                     stop_token_ids=None, **options)
            assert all(len(row) == args.new_tokens for row in outputs)

    return run


def keras_hub_model(config):
    """keras-hub's T5Seq2SeqLM of the same shape, without preprocessor."""
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.T5Backbone(
        vocabulary_size=config["vocabulary_size"],
        num_layers=config["num_layers"], num_heads=config["num_heads"],
        hidden_dim=config["hidden_dim"],
        intermediate_dim=config["intermediate_dim"],
        key_value_dim=config["head_dim"], dropout=config["dropout"],
        activation="relu" if config["feed_forward"] == "mlp" else "gelu",
        use_gated_activation=config["feed_forward"] == "gated",
        layer_norm_epsilon=config["layer_norm_epsilon"],
        tie_embedding_weights=config["tie_embedding_weights"],
    )
    return keras_hub.models.T5Seq2SeqLM(backbone, preprocessor=None)


def keras_hub_generator(config, sources, args):
    """`run(calls)`: keras-hub's greedy `generate` (XLA), never stopping:
    the decoder starts from pad (0) and fills `new_tokens` positions."""
    model = keras_hub_model(config)
    model.compile(sampler="greedy", jit_compile=True)
    length = args.new_tokens + 1
    decoder_ids = np.zeros((len(sources), length), "int32")
    decoder_mask = np.zeros((len(sources), length), bool)
    decoder_mask[:, 0] = True
    inputs = {
        "encoder_token_ids": sources,
        "encoder_padding_mask": np.ones(sources.shape, bool),
        "decoder_token_ids": decoder_ids,
        "decoder_padding_mask": decoder_mask,
    }

    def run(calls):
        for _ in range(calls):
            outputs = model.generate(inputs, max_length=length,
                                     stop_token_ids=None)
            assert np.asarray(outputs["decoder_padding_mask"]).all()

    return run


def torch_model(backbone, args):
    import torch
    import transformers

    torch.manual_seed(0)
    torch.set_num_threads(args.torch_threads)
    return transformers.T5ForConditionalGeneration(
        transformers.T5Config(**hf_config(backbone)))


def transformers_generator(backbone, sources, args, num_beams=1):
    """`run(calls)`: transformers' `generate` (greedy, or beam search),
    `min_new_tokens=max_new_tokens` so that no row stops early."""
    import torch

    model = torch_model(backbone, args).eval()
    input_ids = torch.tensor(sources, dtype=torch.long)

    def run(calls):
        for _ in range(calls):
            with torch.no_grad():
                outputs = model.generate(
                    input_ids, attention_mask=torch.ones_like(input_ids),
                    max_new_tokens=args.new_tokens,
                    min_new_tokens=args.new_tokens, do_sample=False,
                    num_beams=num_beams,
                )
            # The decoder start token, then the new tokens.
            assert outputs.shape[1] == args.new_tokens + 1

    return run


# ------------------------------------------------------------- training --

def training_batch(args, config):
    sources = random_sources(args, config)
    rng = np.random.default_rng(1)
    targets = rng.integers(2, config["vocabulary_size"],
                           (args.batch_size, args.new_tokens + 1)
                           ).astype("int32")
    targets[:, 0] = 0  # the decoder start token
    features = {
        "encoder_token_ids": sources,
        "encoder_padding_mask": np.ones(sources.shape, "int32"),
        "decoder_token_ids": targets[:, :-1],
        "decoder_padding_mask": np.ones(targets[:, :-1].shape, "int32"),
    }
    return features, targets[:, 1:]


def tfzoo_trainer(backbone, args, config):
    model = tfzoo.models.T5Seq2SeqLM(backbone)
    model.compile()  # AdamW, XLA
    features, labels = training_batch(args, config)
    return keras_fit_runner(model, features, labels,
                            np.ones(labels.shape, "float32"))


def keras_hub_trainer(config, args, jit_compile):
    model = keras_hub_model(config)
    model.compile(
        optimizer=tfzoo.training.AdamW(learning_rate=1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    features, labels = training_batch(args, config)
    features = {key: value.astype(bool) if "mask" in key else value
                for key, value in features.items()}
    return keras_fit_runner(model, features, labels,
                            np.ones(labels.shape, "float32"))


def transformers_trainer(backbone, args, config):
    import torch

    model = torch_model(backbone, args).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4,
                                  weight_decay=0.01)
    features, labels = training_batch(args, config)
    batch = {
        "input_ids": torch.tensor(features["encoder_token_ids"],
                                  dtype=torch.long),
        "attention_mask": torch.tensor(features["encoder_padding_mask"]),
        "decoder_input_ids": torch.tensor(features["decoder_token_ids"],
                                          dtype=torch.long),
        "labels": torch.tensor(labels, dtype=torch.long),
    }
    return torch_training_runner(model, optimizer, batch)


# ------------------------------------------------------------ breakdown --

def greedy_breakdown(model, sources, args):
    """Runners timing the parts of tfzoo's greedy `generate`, each one
    XLA program: the encoder with the cross-attention keys and values;
    that plus the decode loop's decoder steps alone; plus the output
    projection and argmax (the tokens fed back), i.e. `generate`'s work
    without its bookkeeping."""
    import tensorflow as tf

    from tfzoo.generation.context_decoder import ContextDecoder

    backbone = model.backbone
    batch, steps = len(sources), args.new_tokens
    mask = np.ones(sources.shape, "int32")

    def program(num_steps, logits):
        @tf.function(jit_compile=True)
        def run(source_ids, padding_mask):
            context = backbone.project_encoder_output(
                backbone.encode(source_ids, padding_mask), padding_mask)
            decoder = ContextDecoder(backbone, context)
            logits_of = model.output_projection()

            def step(index, token_ids, cache, total):
                hidden, cache = decoder.call_with_cache(token_ids, cache,
                                                        index)
                if logits:
                    token_ids = tf.argmax(logits_of(hidden[:, 0]), -1,
                                          output_type="int32")[:, None]
                # Keeps the steps' results alive (XLA drops dead code).
                total += tf.reduce_sum(hidden[:, 0, :1])
                return index + 1, token_ids, cache, total

            total = tf.reduce_sum(context["key_values"][-1][1][:, 0, 0, :1])
            return tf.while_loop(
                lambda index, *_: index < num_steps, step,
                (0, tf.zeros([batch, 1], "int32"),
                 decoder.empty_cache(batch, steps + 1), total))[3]

        def timed(calls):
            for _ in range(calls):
                run(sources, mask).numpy()

        return timed

    return {
        "tfzoo generate": tfzoo_generator(model, sources, args),
        "encoder + cross k/v": program(0, False),
        f"+ {steps} decoder steps": program(steps, False),
        "+ projection, argmax": program(steps, True),
    }


def report_breakdown(wall, args):
    parts = {name: statistics.median(seconds) * 1e3
             for name, seconds in wall.items()}
    names = list(parts)
    encoder = parts[names[1]]
    decoder = (parts[names[2]] - encoder) / args.new_tokens
    projection = (parts[names[3]] - parts[names[2]]) / args.new_tokens
    print(f"\ntfzoo greedy, where the time goes (medians, load "
          f"{load_average():.2f})")
    for name, milliseconds in parts.items():
        print(f"  {name:<26}{milliseconds:>9.1f} ms")
    print(f"  encoder + cross k/v {encoder:.0f} ms a call; a decode step: "
          f"decoder layers {decoder:.2f} ms, output projection + argmax "
          f"{projection:.2f} ms; rest of generate (loop bookkeeping, "
          f"host) {parts[names[0]] - parts[names[3]]:.0f} ms a call")


# -------------------------------------------------------------- report --

def decode_step_bytes(config):
    """Float32 weight bytes one decoder step reads: self-attention (q, k,
    v, o), cross-attention (q, o; its keys and values are projected once
    per source), feed-forward, and the output projection."""
    hidden, inner = config["hidden_dim"], config["intermediate_dim"]
    attention = config["num_heads"] * config["head_dim"]
    per_layer = 6 * hidden * attention + 2 * hidden * inner
    return 4 * (config["num_layers"] * per_layer
                + config["vocabulary_size"] * hidden)


def report(title, wall, units_per_call, unit):
    print(f"\n{title}")
    print(f"{'framework':<26}{unit + '/s':>14}{'best':>9}{'tfzoo is':>10}")
    for name, seconds in wall.items():
        median = units_per_call / statistics.median(seconds)
        best = units_per_call / min(seconds)
        ratio = in_round_ratio(wall["tfzoo"], seconds)
        print(f"{name:<26}{median:>14.0f}{best:>9.0f}{ratio:>9.2f}x")
    return units_per_call / statistics.median(wall["tfzoo"])


def anchors(args):
    """Which anchors run; transformers only when torch is installed."""
    names = [name for name in ("keras_hub", "transformers")
             if name not in args.skip]
    if "transformers" in names:
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError:
            print("transformers/torch not installed: skipping that anchor")
            names.remove("transformers")
    return names


def main():
    args = parse_args()
    config = backbone_config(args)
    others = anchors(args)
    print(f"load average at start: {load_average():.2f}")
    peak = measure_matmul_peak()
    print(f"matmul peak (float32): {peak / 1e9:.1f} GFLOP/s")
    print(f"shape: {args.shape} ({config['num_layers']}+"
          f"{config['num_layers']} layers, d_model {config['hidden_dim']}, "
          f"{config['num_heads']} heads, d_ff {config['intermediate_dim']}, "
          f"vocabulary {config['vocabulary_size']}), random weights; batch "
          f"{args.batch_size}, source {args.source_length}, "
          f"{args.new_tokens} new tokens; {args.rounds} rounds; PyTorch "
          f"threads {args.torch_threads}")

    keras.utils.set_random_seed(0)
    model = tfzoo.models.T5Seq2SeqLM(tfzoo.models.T5Backbone(**config))
    sources = random_sources(args, config)
    new_tokens = args.batch_size * args.new_tokens

    if "greedy" in args.sections:
        runners = {"tfzoo": tfzoo_generator(model, sources, args)}
        if "keras_hub" in others:
            runners["keras-hub (XLA)"] = keras_hub_generator(config, sources,
                                                             args)
        if "transformers" in others:
            runners["transformers-pytorch"] = transformers_generator(
                model.backbone, sources, args)
        wall, _ = measure_interleaved(runners, args.rounds)
        rate = report(f"greedy, no early stop (load {load_average():.2f})",
                      wall, new_tokens, "new tokens")
        step_bytes = decode_step_bytes(config)
        steps_per_second = rate / args.batch_size
        print(f"tfzoo: a decode step reads {step_bytes / 1e6:.0f} MB of "
              f"weights; at {steps_per_second:.0f} steps/s (encoder "
              f"included) that is {step_bytes * steps_per_second / 1e9:.1f}"
              f" GB/s")

    if "beam" in args.sections:
        runners = {"tfzoo": tfzoo_generator(model, sources, args,
                                            sampler="beam",
                                            num_beams=args.num_beams)}
        if "transformers" in others:
            runners["transformers-pytorch"] = transformers_generator(
                model.backbone, sources, args, num_beams=args.num_beams)
        wall, _ = measure_interleaved(runners, args.rounds)
        report(f"beam search, {args.num_beams} beams, no early stop (load "
               f"{load_average():.2f})", wall, new_tokens, "new tokens")

    if "train" in args.sections and args.train_steps:
        keras.utils.set_random_seed(0)
        train_backbone = tfzoo.models.T5Backbone(**config)
        runners = {"tfzoo": tfzoo_trainer(train_backbone, args, config)}
        if "keras_hub" in others:
            runners["keras-hub (XLA forced)"] = keras_hub_trainer(
                config, args, jit_compile=True)
            runners["keras-hub (default)"] = keras_hub_trainer(
                config, args, jit_compile="auto")
        if "transformers" in others:
            runners["transformers-pytorch"] = transformers_trainer(
                train_backbone, args, config)
        wall, _ = measure_interleaved(runners, args.rounds,
                                      steps=args.train_steps,
                                      warmup_steps=2)
        report(f"training, model.fit / PyTorch loop, target "
               f"{args.new_tokens} (load {load_average():.2f})", wall,
               args.batch_size * (args.source_length + args.new_tokens),
               "tokens")
    if "breakdown" in args.sections:
        wall, _ = measure_interleaved(
            greedy_breakdown(model, sources, args), args.rounds)
        report_breakdown(wall, args)
    print(f"\nload average at end: {load_average():.2f}. Rates: median over "
          f"rounds; best: fastest round; tfzoo is: median over rounds of "
          f"the other's time over tfzoo's in the same round.")


if __name__ == "__main__":
    main()
