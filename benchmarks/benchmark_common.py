"""Helpers the benchmarks share: the matmul peak, CPU time, `fit` runners,
and timing frameworks in interleaved rounds.

Benchmarks run as scripts (`python benchmarks/x.py`), so this directory is
first on `sys.path` and they import this module by its name.
"""

import os
import resource
import statistics
import time

import tensorflow as tf


def measure_matmul_peak(size=2048, repeats=10):
    """Best observed float32 matmul rate in FLOP/s on this machine."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    matmul = tf.function(lambda x, y: tf.matmul(x, y))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def process_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average():
    """The 1-minute load average, as `uptime` prints it (other processes
    sharing the cores slow every framework down)."""
    return os.getloadavg()[0]


def keras_fit_runner(model, features, labels, sample_weight=None):
    """Returns `run(steps)`, which trains `model` with `fit` for `steps`
    on the one batch `(features, labels[, sample_weight])`, repeated."""
    element = ((features, labels) if sample_weight is None
               else (features, labels, sample_weight))
    dataset = tf.data.Dataset.from_tensors(element).repeat().prefetch(2)

    def run(steps):
        model.fit(dataset, steps_per_epoch=steps, verbose=0, shuffle=False)

    return run


def torch_training_runner(model, optimizer, batch):
    """`run(steps)`: PyTorch training steps on one batch of keyword inputs
    (the model computes its loss from `labels`), gradients clipped at 1.0
    as tfzoo's AdamW clips them."""
    import torch

    def run(steps):
        for _ in range(steps):
            optimizer.zero_grad()
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()

    return run


def measure_interleaved(runners, rounds, steps=1, warmup_steps=1):
    """Wall and CPU seconds per step for each runner, per round.

    `runners` maps names to `run(steps)`. This machine's virtual CPUs stall
    now and then, so the frameworks take turns, one block of `steps` each
    per round, and ratios are computed within rounds (`in_round_ratio`).
    Each runs `warmup_steps` untimed steps first (XLA compilation).
    """
    for name, run in runners.items():
        print(f"warming up {name} ...", flush=True)
        run(warmup_steps)
    wall = {name: [] for name in runners}
    cpu = {name: [] for name in runners}
    for round_index in range(rounds):
        for name, run in runners.items():
            start, start_cpu = time.perf_counter(), process_cpu_seconds()
            run(steps)
            wall[name].append((time.perf_counter() - start) / steps)
            cpu[name].append((process_cpu_seconds() - start_cpu) / steps)
        print(f"round {round_index + 1}/{rounds} done (load "
              f"{load_average():.2f})", flush=True)
    return wall, cpu


def in_round_ratio(ours, theirs):
    """Median over rounds of `theirs / ours` (seconds per step, one pair
    a round): how many times faster `ours` is."""
    return statistics.median(b / a for a, b in zip(ours, theirs))
