"""Training throughput of BertClassifier against keras-hub and transformers.

Trains a sequence classifier on random tokens with `model.fit` (tfzoo and
keras-hub, both XLA-compiled with AdamW) and with a plain PyTorch loop
(transformers, when installed), all in this one run, and prints tokens/s,
the ratios to tfzoo, and model-FLOPs utilisation against a matmul peak
measured here.

    python benchmarks/train_throughput.py            # bert_mini, batch 32
    python benchmarks/train_throughput.py --steps 10 --repeats 1
    python benchmarks/train_throughput.py --strategy mirrored --skip transformers
    python benchmarks/train_throughput.py --precision mixed_bfloat16
"""

import argparse
import os
import statistics

from tfzoo.logs import import_tensorflow  # noqa: E402

import_tensorflow()  # first: quiet TensorFlow logs by default

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfzoo  # noqa: E402
from benchmark_common import (  # noqa: E402
    in_round_ratio,
    keras_fit_runner,
    measure_interleaved,
    measure_matmul_peak,
    torch_training_runner,
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="bert_mini")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--sequence_length", type=int, default=128)
    parser.add_argument("--num_classes", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10,
                        help="timed training steps per framework and round")
    parser.add_argument("--repeats", type=int, default=6,
                        help="rounds; each framework runs once a round")
    parser.add_argument("--warmup_steps", type=int, default=3,
                        help="untimed steps first (XLA compilation)")
    parser.add_argument("--strategy", default="one_device",
                        choices=["one_device", "mirrored"],
                        help="mirrored: tfzoo on --logical_devices CPUs")
    parser.add_argument("--logical_devices", type=int, default=2,
                        help="CPU devices for --strategy mirrored")
    parser.add_argument("--precision", default="float32",
                        choices=list(tfzoo.training.PRECISIONS))
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["keras_hub", "transformers"],
                        help="anchors to leave out")
    return parser.parse_args()


def training_flops_per_token(config, sequence_length):
    """Forward + backward (3x forward) FLOPs per token of the encoder."""
    hidden, inner = config["hidden_dim"], config["intermediate_dim"]
    per_layer = (
        2 * 4 * hidden * hidden  # q, k, v and output projections
        + 2 * 2 * hidden * inner  # feed-forward
        + 2 * 2 * sequence_length * hidden  # scores and weighted values
    )
    return 3 * config["num_layers"] * per_layer


def random_batches(args, vocabulary_size, seed=0):
    rng = np.random.default_rng(seed)
    shape = (args.batch_size, args.sequence_length)
    features = {
        "token_ids": rng.integers(1, vocabulary_size, shape).astype("int32"),
        "segment_ids": np.zeros(shape, "int32"),
        "padding_mask": np.ones(shape, "int32"),
    }
    labels = rng.integers(0, args.num_classes, args.batch_size)
    return features, labels


def tfzoo_runner(config, args, jit_compile=True, strategy=None):
    keras.utils.set_random_seed(0)
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = tfzoo.models.BertClassifier(
            tfzoo.models.BertBackbone(**config), num_classes=args.num_classes
        )
        model.compile(jit_compile=jit_compile)
    features, labels = random_batches(args, config["vocabulary_size"])
    return keras_fit_runner(model, features, labels)


def keras_hub_runner(config, args, jit_compile="auto"):
    """keras-hub's classifier; "auto" is its default (no XLA on CPU)."""
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=config["vocabulary_size"],
        num_layers=config["num_layers"],
        num_heads=config["num_heads"],
        hidden_dim=config["hidden_dim"],
        intermediate_dim=config["intermediate_dim"],
        max_sequence_length=config["max_sequence_length"],
        num_segments=config["num_segments"],
    )
    model = keras_hub.models.BertTextClassifier(
        backbone, num_classes=args.num_classes, preprocessor=None
    )
    model.compile(
        optimizer=tfzoo.training.AdamW(learning_rate=5e-5),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
        jit_compile=jit_compile,
    )
    features, labels = random_batches(args, config["vocabulary_size"])
    return keras_fit_runner(model, features, labels)


def transformers_runner(config, args):
    import torch
    import transformers

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    hf_config = transformers.BertConfig(
        vocab_size=config["vocabulary_size"],
        hidden_size=config["hidden_dim"],
        num_hidden_layers=config["num_layers"],
        num_attention_heads=config["num_heads"],
        intermediate_size=config["intermediate_dim"],
        max_position_embeddings=config["max_sequence_length"],
        type_vocab_size=config["num_segments"],
        num_labels=args.num_classes,
    )
    model = transformers.BertForSequenceClassification(hf_config)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5,
                                  weight_decay=0.01)
    features, labels = random_batches(args, config["vocabulary_size"])
    batch = {
        "input_ids": torch.tensor(features["token_ids"], dtype=torch.long),
        "token_type_ids": torch.tensor(features["segment_ids"],
                                       dtype=torch.long),
        "attention_mask": torch.tensor(features["padding_mask"]),
        "labels": torch.tensor(labels, dtype=torch.long),
    }
    return torch_training_runner(model, optimizer, batch)


def main():
    args = parse_args()
    if args.strategy == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu,
            [tf.config.LogicalDeviceConfiguration()] * args.logical_devices,
        )
    tfzoo.training.set_precision(args.precision)
    config = dict(tfzoo.models.BertBackbone.presets[args.preset])
    tokens_per_step = args.batch_size * args.sequence_length
    flops_per_token = training_flops_per_token(config, args.sequence_length)

    print(f"Measuring the float32 matmul peak ...", flush=True)
    peak = measure_matmul_peak()
    print(f"matmul peak: {peak / 1e9:.1f} GFLOP/s")
    print(
        f"config: {args.preset} (vocabulary {config['vocabulary_size']}), "
        f"batch {args.batch_size}, sequence {args.sequence_length}, "
        f"{args.precision}, {args.repeats} rounds x {args.steps} timed "
        f"steps\n"
    )

    setups = {"tfzoo": tfzoo_runner}
    # The step tfzoo runs under several replicas (XLA forward and backward,
    # update outside XLA), here on one device against Keras' whole step.
    setups["tfzoo per-replica step"] = (
        lambda c, a: tfzoo_runner(c, a, jit_compile="per_replica")
    )
    if args.strategy == "mirrored":
        devices = [f"/cpu:{i}" for i in range(args.logical_devices)]
        mirrored = tf.distribute.MirroredStrategy(devices)
        setups[f"tfzoo mirrored x{args.logical_devices}"] = (
            lambda c, a: tfzoo_runner(c, a, strategy=mirrored)
        )
    if "keras_hub" not in args.skip:
        setups["keras-hub (default)"] = keras_hub_runner
        setups["keras-hub (XLA forced)"] = (
            lambda c, a: keras_hub_runner(c, a, jit_compile=True)
        )
    if "transformers" not in args.skip:
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401

            setups["transformers-pytorch"] = transformers_runner
        except ImportError:
            print("transformers/torch not installed: skipping that anchor "
                  "(pip install torch==2.13.0 transformers)")

    runners = {name: setup(config, args) for name, setup in setups.items()}
    wall, cpu = measure_interleaved(runners, args.repeats, args.steps,
                                    args.warmup_steps)
    cores = os.cpu_count()

    print(
        f"\n{'framework':<24}{'tokens/s':>10}{'best':>8}{'MFU':>7}"
        f"{'tfzoo is':>10}{'CPU-time tokens/s':>19}{'tfzoo is':>10}"
    )
    for name in runners:
        median = tokens_per_step / statistics.median(wall[name])
        best = tokens_per_step / min(wall[name])
        mfu = median * flops_per_token / peak
        cpu_rate = cores * tokens_per_step / statistics.median(cpu[name])
        wall_ratio = in_round_ratio(wall["tfzoo"], wall[name])
        cpu_ratio = in_round_ratio(cpu["tfzoo"], cpu[name])
        print(
            f"{name:<24}{median:>10.0f}{best:>8.0f}{mfu:>7.1%}"
            f"{wall_ratio:>9.2f}x{cpu_rate:>19.0f}{cpu_ratio:>9.2f}x"
        )
    print(
        "\ntokens/s: wall clock, median over rounds; best: fastest round; "
        "MFU: median tokens/s x model FLOPs per token / matmul peak; "
        "tfzoo is: median over rounds of the other's time per step over "
        "tfzoo's in the same round. CPU-time tokens/s: tokens per CPU-second "
        f"of this process x {cores} cores, which ignores stalls of the "
        "virtual CPUs but counts threads that spin while waiting."
    )

if __name__ == "__main__":
    main()
