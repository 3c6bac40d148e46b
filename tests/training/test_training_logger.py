import glob

import numpy as np
import tensorflow as tf
from tensorflow.core.util import event_pb2

from tests import synthetic_tasks as tasks
from tfzoo.models import BertBackbone, BertClassifier
from tfzoo.training import TrainingLogger


def scalars(log_dir):
    """{tag: [(step, value)]} from the event files under `log_dir`."""
    found = {}
    for path in glob.glob(f"{log_dir}/train/events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(path):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                number = tf.make_ndarray(value.tensor).item()
                found.setdefault(value.tag, []).append((event.step, number))
    return found


def test_learning_rate_throughput_and_gradient_norm_are_logged(
    tmp_path, capsys
):
    x, y = tasks.marker_presence(128)
    model = BertClassifier(BertBackbone(**tasks.TINY_BERT), dropout=0.0)
    model.compile(learning_rate=1e-3, log_gradient_norm=True)
    logger = TrainingLogger(str(tmp_path), update_freq=2, batch_size=16,
                            sequence_length=16)
    history = model.fit(x, y, batch_size=16, epochs=2, callbacks=[logger],
                        verbose=0)

    logged = scalars(str(tmp_path))
    assert {"learning_rate", "steps_per_second", "examples_per_second",
            "tokens_per_second", "gradient_norm"} <= set(logged)
    steps = [step for step, _ in logged["learning_rate"]]
    assert steps == list(range(2, 17, 2))
    schedule = model.optimizer.learning_rate  # after training: step 16
    rates = dict(logged["learning_rate"])
    # Warmup (10% of 16 steps) then linear decay to 0 at step 16.
    assert rates[2] > rates[16] and abs(rates[16] - float(schedule)) < 1e-9
    norms = [value for _, value in logged["gradient_norm"]]
    assert all(np.isfinite(norms)) and all(value > 0 for value in norms)
    examples = [value for _, value in logged["examples_per_second"]]
    tokens = [value for _, value in logged["tokens_per_second"]]
    np.testing.assert_allclose(np.array(tokens), np.array(examples) * 16,
                               rtol=1e-5)
    assert "gradient_norm" in history.history

    summary = capsys.readouterr().out
    assert "this run trained 16 steps (global step 0 -> 16) in" in summary
    assert f"final loss {history.history['loss'][-1]:.4f}" in summary


def test_summary_counts_only_the_steps_this_run_trained(tmp_path, capsys):
    """A resumed run passes its restored steps by untrained, and with
    steps_per_execution one callback call covers several steps."""
    import keras

    from tfzoo.training import StepCheckpoint

    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = x.sum(axis=1)

    def fit(epochs):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse", steps_per_execution=2)
        model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=[
            StepCheckpoint(tmp_path / "ckpt", every_n_steps=4),
            TrainingLogger(str(tmp_path / "logs"))])
        return capsys.readouterr().out

    assert "this run trained 8 steps (global step 0 -> 8) in" in fit(1)
    resumed = fit(3)
    assert "this run trained 16 steps (global step 8 -> 24) in" in resumed
    assert "this run trained 0 steps (global step 24" in fit(3)
