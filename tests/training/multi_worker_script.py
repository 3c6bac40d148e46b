"""Trains a tiny BertClassifier (and, with `--t5`, a tiny T5Seq2SeqLM) with
`model.fit`, for test_multi_worker.py.

    python -m tfzoo.launch tests/training/multi_worker_script.py
    python tests/training/multi_worker_script.py --strategy default

For each kind of input in `--inputs` (numpy arrays, a `tf.data.Dataset`)
it trains a fresh model for a few epochs on the same global batches, in
order. The last line printed is `RESULT {json}`: per input, the epoch
losses, the logits of a few examples after training, the rows of the
training data each step saw on this worker, and whether the XLA
per-replica step was used (and, with `--t5`, the T5 model's epoch
losses). With `--fail_worker i`, worker i raises before
training while the others wait for it in their first collective op.
"""

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

EXAMPLES = 128
GLOBAL_BATCH = 32
EPOCHS = 3
T5_GLOBAL_BATCH = 16


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--strategy", default="multi_worker")
    parser.add_argument("--inputs", default="numpy,dataset",
                        help="comma-separated: numpy, dataset")
    parser.add_argument("--fail_worker", type=int, default=None)
    parser.add_argument("--t5", action="store_true",
                        help="also train a tiny T5Seq2SeqLM")
    args = parser.parse_args()
    print(f"PID {os.getpid()}", flush=True)

    sys.path.insert(0, ROOT)
    from tfzoo.training import AdamW, resolve_strategy

    # MultiWorkerMirroredStrategy must exist before any other TF op runs.
    strategy = resolve_strategy(args.strategy)
    import keras
    import numpy as np
    import tensorflow as tf

    from tests import synthetic_tasks as tasks
    from tfzoo.models import BertBackbone, BertClassifier

    resolver = getattr(strategy, "cluster_resolver", None)
    worker = resolver.task_id if resolver is not None else 0
    if args.fail_worker == worker:
        raise RuntimeError(f"worker {worker} fails on purpose")

    x, y = tasks.marker_presence(EXAMPLES)
    row_index = {row.tobytes(): i for i, row in enumerate(x["token_ids"])}
    assert len(row_index) == EXAMPLES, "rows must be unique to identify them"
    seen = []  # per step: the rows of the training data this worker saw

    def record(token_ids):
        seen.append([row_index[row.tobytes()] for row in token_ids.numpy()])
        return 0

    class RecordingClassifier(BertClassifier):
        def train_step(self, data):
            if self._xla_per_replica:  # Not inside an XLA-compiled step.
                tf.py_function(record, [data[0]["token_ids"]], tf.int32)
            return super().train_step(data)

    def train(inputs):
        keras.utils.set_random_seed(5)
        seen.clear()
        with strategy.scope():
            model = RecordingClassifier(
                BertBackbone(**dict(tasks.TINY_BERT, num_layers=1)),
                dropout=0.0,
            )
            # No clipping: Keras' optimizers clip each replica's gradients
            # before they are summed, which one device cannot reproduce.
            model.compile(optimizer=AdamW(1e-2, global_clipnorm=None),
                          jit_compile=True)
        if inputs == "numpy":
            data = dict(x=x, y=y, batch_size=GLOBAL_BATCH, shuffle=False)
        else:
            dataset = tf.data.Dataset.from_tensor_slices((x, y))
            options = tf.data.Options()
            # Shard each global batch by element: each worker gets its part.
            options.experimental_distribute.auto_shard_policy = (
                tf.data.experimental.AutoShardPolicy.DATA
            )
            data = dict(x=dataset.batch(GLOBAL_BATCH).with_options(options))
        history = model.fit(epochs=EPOCHS, verbose=0, **data)
        probe = {key: value[:4] for key, value in x.items()}
        gradients = model._replica_gradients
        return {
            "losses": [float(v) for v in history.history["loss"]],
            "logits": model(probe, training=False).numpy().tolist(),
            "seen": list(seen),
            "xla_per_replica": bool(model._xla_per_replica),
            "keras_jit": model.jit_compile,
            "gradients_jit": bool(gradients and gradients._jit_compile),
            "gradients_traces": (
                gradients.experimental_get_tracing_count() if gradients else 0
            ),
        }

    def train_t5():
        """A tiny T5Seq2SeqLM on reversed sources: its epoch losses."""
        from tfzoo.models import T5Backbone, T5Seq2SeqLM

        sources = np.random.default_rng(0).integers(3, 40, size=(64, 7))
        ends = np.ones((64, 1), "int32")
        labels = np.concatenate([sources[:, ::-1], ends], 1).astype("int32")
        features = {
            "encoder_token_ids": np.concatenate([sources, ends], 1).astype(
                "int32"),
            "encoder_padding_mask": np.ones((64, 8), "int32"),
            "decoder_token_ids": np.concatenate(
                [np.zeros((64, 1), "int32"), labels[:, :-1]], 1),
            "decoder_padding_mask": np.ones((64, 8), "int32"),
        }
        keras.utils.set_random_seed(3)
        with strategy.scope():
            model = T5Seq2SeqLM(T5Backbone(
                40, 1, 2, 32, 64, num_decoder_layers=1,
                max_sequence_length=16))
            model.compile(learning_rate=1e-2)
        history = model.fit(features, labels, batch_size=T5_GLOBAL_BATCH,
                            shuffle=False, epochs=EPOCHS, verbose=0)
        return {"losses": [float(v) for v in history.history["loss"]],
                "xla_per_replica": bool(model._xla_per_replica)}

    results = {inputs: train(inputs) for inputs in args.inputs.split(",")}
    if args.t5:
        results["t5"] = train_t5()
    print("RESULT " + json.dumps({
        "worker": worker,
        "replicas": strategy.num_replicas_in_sync,
        **results,
    }), flush=True)


if __name__ == "__main__":
    main()
