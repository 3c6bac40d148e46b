"""Trains a tiny model with StepCheckpoint; run by the tests.

    python checkpoint_train_script.py OUTPUT_DIR CHECKPOINT_DIR [options]

The model is a tiny BertClassifier (`--model bert`, the default) or a
two-layer perceptron with dropout (`--model mlp`, quick to start), trained
with `model.fit` (XLA) and the AdamW + warmup/decay defaults on a dataset
reshuffled each epoch with a fixed seed: 36 steps over 3 epochs, a
checkpoint every 5 steps and at each epoch end.

Appends one JSON line a trained step to OUTPUT_DIR/steps.jsonl (flushed
at once, so a killed run leaves its steps), writes OUTPUT_DIR/begin.json
when training begins (after any restore) and OUTPUT_DIR/final.npz with
the model and optimizer variables when it ends.

Options:
    --throttle SECONDS  sleep after each step, so that a test can kill
                        the run at some point in the middle of training.
    --block-after N     after N trained steps, wait to be killed.
    --kill-in-save N:STAGE  SIGKILL this process during the N-th save, at
                        STAGE "merge" (shards written to the temporary
                        directory, not yet merged) or "publish" (data
                        files complete, `checkpoint` file not updated).
"""

import argparse
import json
import os
import signal
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
sys.path.insert(0, ROOT)

from tests import synthetic_tasks  # noqa: E402
from tfzoo.models import BertBackbone, BertClassifier  # noqa: E402
from tfzoo.training import AdamW, StepCheckpoint, WarmupDecay  # noqa: E402

EXAMPLES, BATCH, EPOCHS, EVERY = 96, 8, 3, 5  # 12 steps an epoch, 36 in all
BACKBONE = dict(
    vocabulary_size=synthetic_tasks.VOCABULARY_SIZE, num_layers=1,
    num_heads=2, hidden_dim=32, intermediate_dim=64, max_sequence_length=16,
    dropout=0.0,
)


def kill_in_save(number, stage):
    """Makes the `number`-th checkpoint save SIGKILL this process."""
    from tensorflow.python.checkpoint import checkpoint_management
    from tensorflow.python.checkpoint import functional_saver

    saves = {"count": 0}
    original_write = tf.train.CheckpointManager.save

    def save(self, *args, **kwargs):
        saves["count"] += 1
        return original_write(self, *args, **kwargs)

    def killer(original):
        def function(*args, **kwargs):
            if saves["count"] == number:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)
        return function

    tf.train.CheckpointManager.save = save
    if stage == "merge":
        module = functional_saver.gen_io_ops
        module.merge_v2_checkpoints = killer(module.merge_v2_checkpoints)
    else:
        checkpoint_management.update_checkpoint_state_internal = killer(
            checkpoint_management.update_checkpoint_state_internal
        )


class Recorder(keras.callbacks.Callback):
    def __init__(self, output, throttle, block_after):
        super().__init__()
        self.output = output
        self.throttle = throttle
        self.block_after = block_after
        self.steps = open(os.path.join(output, "steps.jsonl"), "a")

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        self.last = int(optimizer.iterations)
        begin = {"iterations": self.last,
                 "learning_rate": float(optimizer.learning_rate)}
        with open(os.path.join(self.output, "begin.json"), "w") as file:
            json.dump(begin, file)

    def on_train_batch_end(self, batch, logs=None):
        iterations = int(self.model.optimizer.iterations)
        if iterations == self.last:
            return  # a step passed over when resuming
        self.last = iterations
        record = {
            "step": iterations,
            "batch": batch,
            "loss": float(logs["loss"]),
            "next_learning_rate": float(self.model.optimizer.learning_rate),
        }
        self.steps.write(json.dumps(record) + "\n")
        self.steps.flush()
        if self.throttle:
            time.sleep(self.throttle)
        while self.block_after and iterations >= self.block_after:
            time.sleep(1)


def build(kind):
    """The model (compiled) and the dataset of batches."""
    if kind == "bert":
        x, y = synthetic_tasks.marker_presence(EXAMPLES)
        model = BertClassifier(BertBackbone(**BACKBONE), dropout=0.0)
        model.compile(learning_rate=1e-2)
    else:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(EXAMPLES, 4)).astype("float32")
        y = x.sum(axis=1, keepdims=True) ** 2
        model = keras.Sequential([
            keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.3), keras.layers.Dense(1),
        ])
        schedule = WarmupDecay(1e-2, warmup_steps=4, total_steps=36)
        model.compile(AdamW(schedule), "mse", jit_compile=True)
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(EXAMPLES, seed=11, reshuffle_each_iteration=True)
        .batch(BATCH)
    )
    return model, dataset


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("checkpoints")
    parser.add_argument("--model", default="bert", choices=["bert", "mlp"])
    parser.add_argument("--throttle", type=float, default=0.0)
    parser.add_argument("--block-after", type=int, default=0)
    parser.add_argument("--kill-in-save", default="")
    args = parser.parse_args()
    if args.kill_in_save:
        number, stage = args.kill_in_save.split(":")
        kill_in_save(int(number), stage)
    os.makedirs(args.output, exist_ok=True)

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(3)
    model, dataset = build(args.model)
    model.fit(
        dataset, epochs=EPOCHS, verbose=2,
        callbacks=[
            StepCheckpoint(args.checkpoints, every_n_steps=EVERY),
            Recorder(args.output, args.throttle, args.block_after),
        ],
    )
    arrays = {f"model_{i}": v.numpy() for i, v in enumerate(model.variables)}
    arrays.update({
        f"optimizer_{i}": v.numpy()
        for i, v in enumerate(model.optimizer.variables)
    })
    np.savez(os.path.join(args.output, "final.npz"), **arrays)


if __name__ == "__main__":
    main()
