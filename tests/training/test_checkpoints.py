"""StepCheckpoint: checkpoints from which `fit` resumes exactly.

The subprocess tests run `checkpoint_train_script.py` (a tiny
BertClassifier, or an MLP with dropout, trained by `model.fit` with XLA
on a dataset reshuffled each epoch with a fixed seed: 36 steps over 3
epochs, a checkpoint every 5 steps and at each epoch end), kill it with
SIGKILL, rerun it on the same directory and compare with an uninterrupted
run. The in-process tests stop `fit` with an exception instead.
"""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import synthetic_tasks
from tfzoo.models import BertBackbone, BertClassifier
from tfzoo.training import StepCheckpoint, latest_checkpoint_state
from tfzoo.training import checkpoints as checkpoints_module

SCRIPT = os.path.join(os.path.dirname(__file__), "checkpoint_train_script.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
TOTAL_STEPS = 36
RUN_TIMEOUT = 180


def start(output, checkpoints, *options, xla_cache=None):
    """Starts the script; `xla_cache` keeps (or reuses) compiled programs.

    The cache is written without a lock: only a process started after the
    writer has compiled may read it.
    """
    environment = dict(os.environ)
    if xla_cache:
        environment["TF_XLA_FLAGS"] = (
            f"--tf_xla_persistent_cache_directory={xla_cache}")
    process = subprocess.Popen(
        [sys.executable, SCRIPT, str(output), str(checkpoints), *options],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=environment,
    )
    return process


def finish(process, expect_kill=False):
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"the training script timed out:\n{output}")
    expected = -signal.SIGKILL if expect_kill else 0
    assert process.returncode == expected, output
    return output


def steps(output):
    """The script's records of trained steps, by step."""
    path = os.path.join(output, "steps.jsonl")
    if not os.path.exists(path):
        return {}
    with open(path) as file:
        lines = [line for line in file if line.endswith("\n")]  # complete
    return {record["step"]: record for record in map(json.loads, lines)}


def wait_for(condition, process, timeout=RUN_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the training script ended early:\n{process.stdout.read()}"
            )
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    process.kill()
    raise AssertionError("timed out waiting for the training script")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """All the script runs, in two rounds of concurrent processes.

    Round 1: uninterrupted reference runs of both models; a BERT run
    killed with SIGKILL two steps after a checkpoint in its second epoch;
    and two MLP runs that kill themselves during their 4th save (after
    step 15): before the shards written to the temporary directory are
    merged ("merge"), or with the data files complete but not yet
    published ("publish"). Round 2: each killed run rerun as it was.
    """
    base = tmp_path_factory.mktemp("runs")
    xla_cache = base / "xla-cache"  # written by "kill", read by its rerun
    models = {"kill": "bert", "merge": "mlp", "publish": "mlp"}

    def run(name, *options, xla_cache=None):
        return start(base / name, base / f"{name}-ckpt", "--model",
                     models[name], *options, xla_cache=xla_cache)

    processes = {
        "bert-reference": start(base / "bert-reference", base / "unused-1"),
        "mlp-reference": start(base / "mlp-reference", base / "unused-2",
                               "--model", "mlp"),
        # Blocks after step 22, so the newest checkpoint at the kill is
        # after step 15 or 20: mid-way through the second epoch.
        "kill": run("kill", "--throttle", "0.05", "--block-after", "22",
                    xla_cache=xla_cache),
        "merge": run("merge", "--kill-in-save", "4:merge"),
        "publish": run("publish", "--kill-in-save", "4:publish"),
    }
    results = {"base": base}
    try:
        def two_steps_after_a_checkpoint_in_epoch_two():
            state = latest_checkpoint_state(str(base / "kill-ckpt"))
            if state is None or state["global_step"] < 13:
                return None
            done = max(steps(base / "kill"), default=0)
            return state if done >= state["global_step"] + 2 else None

        wait_for(two_steps_after_a_checkpoint_in_epoch_two,
                 processes["kill"])
        processes["kill"].send_signal(signal.SIGKILL)
        for name in ["kill", "merge", "publish"]:
            finish(processes.pop(name), expect_kill=True)
            results[name] = {
                "steps": steps(base / name),
                "files": os.listdir(base / f"{name}-ckpt"),
                "latest": latest_checkpoint_state(str(base / f"{name}-ckpt")),
            }
            processes[f"{name}-resumed"] = start(
                base / f"{name}-resumed", base / f"{name}-ckpt", "--model",
                models[name], xla_cache=xla_cache if name == "kill" else None)
        for name in list(processes):
            process = processes.pop(name)
            results[name] = {"output": finish(process),
                             "steps": steps(base / name),
                             "final": dict(np.load(base / name / "final.npz"))}
            with open(base / name / "begin.json") as file:
                results[name]["begin"] = json.load(file)
        yield results
    finally:
        for process in processes.values():
            process.kill()
            process.communicate()


def assert_matches_reference(resumed, reference, first_step):
    assert min(resumed["steps"]) == first_step
    assert max(resumed["steps"]) == TOTAL_STEPS
    for step, record in resumed["steps"].items():
        expected = reference["steps"][step]
        assert record["batch"] == expected["batch"], step
        np.testing.assert_allclose(record["loss"], expected["loss"],
                                   rtol=0, atol=1e-5, err_msg=f"step {step}")
        np.testing.assert_allclose(
            record["next_learning_rate"], expected["next_learning_rate"],
            rtol=1e-6, err_msg=f"step {step}")
    assert resumed["final"].keys() == reference["final"].keys()
    for key, value in resumed["final"].items():
        np.testing.assert_allclose(value, reference["final"][key],
                                   rtol=0, atol=1e-5, err_msg=key)


def test_killed_run_resumes_like_an_uninterrupted_run(runs):
    killed, resumed = runs["kill"], runs["kill-resumed"]
    saved = killed["latest"]["global_step"]
    # The kill came in epoch 2, at least two steps after the checkpoint.
    assert saved in (15, 20) and saved <= max(killed["steps"]) - 2
    assert killed["latest"]["epoch"] == 1
    # The rerun starts from the checkpoint: same optimizer step, same
    # learning rate as the uninterrupted run had there.
    assert (f"epoch 2, after step {saved - 12} ({saved} steps trained)"
            in resumed["output"])
    at_checkpoint = runs["bert-reference"]["steps"][saved]
    assert resumed["begin"]["iterations"] == saved
    np.testing.assert_allclose(resumed["begin"]["learning_rate"],
                               at_checkpoint["next_learning_rate"], rtol=1e-6)
    # Then the same batches: same losses at every step, same weights and
    # optimizer moments at the end.
    assert_matches_reference(resumed, runs["bert-reference"], saved + 1)


@pytest.mark.parametrize("stage", ["merge", "publish"])
def test_a_save_killed_midway_never_becomes_latest(runs, stage):
    killed, resumed = runs[stage], runs[f"{stage}-resumed"]
    # Killed in the save after step 15 (before recording step 15).
    assert max(killed["steps"]) == 14
    leftover = {"merge": "ckpt-15_temp", "publish": "ckpt-15.index"}[stage]
    assert leftover in killed["files"]
    # "latest" is still the save before: the end of epoch 1 (step 12).
    assert killed["latest"]["global_step"] == 12
    assert "epoch 1, after step 12 (12 steps trained)" in resumed["output"]
    assert resumed["begin"]["iterations"] == 12
    assert_matches_reference(resumed, runs["mlp-reference"], 13)
    # The rerun cleared what the killed save left.
    assert leftover not in os.listdir(runs["base"] / f"{stage}-ckpt")


# ------------------------------------------------------------ in process --


class Interrupt(Exception):
    pass


class Recorder(keras.callbacks.Callback):
    """Logged loss a trained step; raises Interrupt after `stop_after`."""

    def __init__(self, stop_after=None):
        super().__init__()
        self.stop_after = stop_after
        self.losses = {}

    def on_train_begin(self, logs=None):
        self.last = int(self.model.optimizer.iterations)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations)
        if step != self.last:
            self.last = step
            self.losses[step] = float(logs["loss"])
        if step == self.stop_after:
            raise Interrupt


def mlp(template=None, steps_per_execution=1):
    model = keras.Sequential([
        keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.3), keras.layers.Dense(1),
    ])
    model.compile(keras.optimizers.Adam(1e-2), "mse", jit_compile=True,
                  steps_per_execution=steps_per_execution)
    if template is not None:  # same weights and dropout seeds
        for variable, value in zip(model.variables, template.variables):
            variable.assign(value)
    return model


def mlp_data(shuffle=True):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((x, x.sum(1) ** 2))
    if shuffle:
        dataset = dataset.shuffle(48, seed=1, reshuffle_each_iteration=True)
    return dataset.batch(8)  # 6 steps an epoch


def train(model, checkpoint, shuffle, stop_after=None):
    """Per-step losses of a fit of 3 epochs, stopped after `stop_after`."""
    recorder = Recorder(stop_after)
    try:
        model.fit(mlp_data(shuffle), epochs=3, verbose=0, shuffle=False,
                  callbacks=[checkpoint, recorder])
    except Interrupt:
        pass
    return recorder.losses


def interrupted_and_resumed(directory, stop_after, steps_per_execution=1,
                            shuffle=True):
    """An uninterrupted run, and one stopped by an error then rerun.

    Returns both runs' per-step losses and final variables, and the
    checkpoint the rerun started from.
    """
    template = mlp()
    model = mlp(template, steps_per_execution)
    expected = train(
        model, StepCheckpoint(directory / "a", every_n_steps=4), shuffle)
    expected_variables = [v.numpy() for v in model.variables]

    checkpoint = StepCheckpoint(directory / "b", every_n_steps=4)
    resumed = train(mlp(template, steps_per_execution), checkpoint, shuffle,
                    stop_after)
    state = latest_checkpoint_state(checkpoint.directory)
    model = mlp(template, steps_per_execution)
    resumed.update(train(model, checkpoint, shuffle))
    return (expected, expected_variables), (
        resumed, [v.numpy() for v in model.variables]), state


@pytest.mark.parametrize("steps_per_execution, stop_after, resumed_at", [
    (1, 10, (1, 2)),  # saves after steps 4, 6 (epoch end), 8
    (2, 10, (1, 2)),
    (4, 6, (0, 6)),  # calls of 4 and 2 steps an epoch
])
def test_resume_in_process_after_an_error(tmp_path, steps_per_execution,
                                          stop_after, resumed_at):
    """Stopped by an exception, rerun in the same process, dropout on."""
    (expected, weights), (resumed, resumed_weights), state = (
        interrupted_and_resumed(tmp_path, stop_after, steps_per_execution))
    # Losses are logged once a call, so not at every step.
    steps = sorted(expected)
    assert steps[-1] == 18 and sorted(resumed) == steps
    np.testing.assert_allclose([resumed[s] for s in steps],
                               [expected[s] for s in steps],
                               rtol=0, atol=1e-5)
    for value, reference in zip(resumed_weights, weights):
        np.testing.assert_allclose(value, reference, rtol=0, atol=1e-5)
    assert (state["epoch"], state["step_in_epoch"]) == resumed_at


def test_other_workers_write_to_a_temporary_directory(tmp_path, monkeypatch):
    cluster = {"worker": ["localhost:1", "localhost:2"]}
    config = {"cluster": cluster, "task": {"type": "worker", "index": 1}}
    monkeypatch.setattr(StepCheckpoint, "_cluster_config",
                        lambda self: config)
    model = mlp()
    model.fit(mlp_data(), epochs=1, verbose=0, shuffle=False,
              callbacks=[StepCheckpoint(tmp_path, every_n_steps=2)])
    assert os.listdir(tmp_path) == []  # wrote, then deleted its own


def test_multi_worker_resume_drops_trained_batches(tmp_path, monkeypatch):
    # Under MultiWorkerMirroredStrategy the iterator state is not kept
    # (each worker reads its own shard): a resumed epoch drops the trained
    # batches from a new iterator, exact for an order fixed across epochs.
    cluster = {"worker": ["localhost:1", "localhost:2"]}
    config = {"cluster": cluster, "task": {"type": "worker", "index": 0}}
    monkeypatch.setattr(StepCheckpoint, "_cluster_config",
                        lambda self: config)
    (expected, _), (resumed, _), state = (
        interrupted_and_resumed(tmp_path, 10, shuffle=False))
    assert (state["epoch"], state["step_in_epoch"]) == (1, 2)
    assert sorted(resumed) == list(range(1, 19))
    np.testing.assert_allclose([resumed[s] for s in range(1, 19)],
                               [expected[s] for s in range(1, 19)],
                               rtol=0, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_an_unsaveable_pipeline_warns_and_resumes_without_it(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")

    def examples():
        yield from zip(x, x.sum(1) ** 2)

    def data():
        return tf.data.Dataset.from_generator(examples, output_signature=(
            tf.TensorSpec((4,), "float32"), tf.TensorSpec((), "float32"),
        )).batch(8)

    template = mlp()
    expected = Recorder()
    mlp(template).fit(data(), epochs=2, verbose=0, shuffle=False,
                      callbacks=[expected])
    with pytest.warns(UserWarning, match="PyFunc is stateful.*drops its "
                                         "epoch's trained batches"):
        with pytest.raises(Interrupt):
            mlp(template).fit(
                data(), epochs=2, verbose=0, shuffle=False, callbacks=[
                    StepCheckpoint(tmp_path, every_n_steps=4), Recorder(9)])
    resumed = Recorder()
    mlp(template).fit(data(), epochs=2, verbose=0, shuffle=False, callbacks=[
        StepCheckpoint(tmp_path, every_n_steps=4), resumed])
    # Resumed after step 8 (epoch 2, step 2): the generator's order is the
    # same every epoch, so the rest is as in an uninterrupted run.
    assert sorted(resumed.losses) == [9, 10, 11, 12]
    np.testing.assert_allclose(
        [resumed.losses[s] for s in range(9, 13)],
        [expected.losses[s] for s in range(9, 13)], rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "task, expected",
    [
        (None, True),
        ({"type": "chief", "index": 0}, True),
        ({"type": "worker", "index": 0}, False),  # there is a chief
        ({"type": "evaluator", "index": 0}, False),
    ],
)
def test_chief_with_a_chief_task(task, expected):
    config = task and {"cluster": {"chief": ["a:1"], "worker": ["b:1"],
                                   "evaluator": ["c:1"]}, "task": task}
    assert checkpoints_module.is_chief(config) is expected
    directory = checkpoints_module.worker_directory("run/ckpt", config)
    assert (directory == "run/ckpt") is expected


def test_chief_from_tf_config_without_a_chief_task(monkeypatch):
    for index, expected in [(0, True), (1, False)]:
        monkeypatch.setenv("TF_CONFIG", json.dumps({
            "cluster": {"worker": ["a:1", "b:1"]},
            "task": {"type": "worker", "index": index}}))
        config = checkpoints_module._tf_config()
        assert checkpoints_module.is_chief(config) is expected
    assert checkpoints_module.worker_directory("run/ckpt", config) == (
        "run/ckpt/.worker-temp-worker-1")


def tiny_classifier(hidden_dim=16):
    backbone = BertBackbone(
        vocabulary_size=synthetic_tasks.VOCABULARY_SIZE, num_layers=1,
        num_heads=2, hidden_dim=hidden_dim, intermediate_dim=32,
        max_sequence_length=16, dropout=0.0)
    return BertClassifier(backbone, dropout=0.0)


def test_mismatched_model_or_optimizer_is_a_clear_error(tmp_path):
    x, y = synthetic_tasks.marker_presence(16)
    model = tiny_classifier()
    model.compile(jit_compile=False, run_eagerly=True)  # quicker here
    model.fit(x, y, batch_size=8, verbose=0,
              callbacks=[StepCheckpoint(tmp_path)])

    wider = tiny_classifier(hidden_dim=8)
    wider.compile(jit_compile=False)
    with pytest.raises(ValueError, match=(
        r"does not match the model: model variable #0 "
        r"'.*token_embedding/embeddings' has shape \(40, 8\) and dtype "
        r"float32, but the checkpoint holds shape \(40, 16\)")):
        wider.fit(x, y, batch_size=8, verbose=0,
                  callbacks=[StepCheckpoint(tmp_path)])

    other_optimizer = tiny_classifier()
    other_optimizer.compile(optimizer="sgd", jit_compile=False)
    with pytest.raises(ValueError, match=(
        r"does not match the optimizer: optimizer variable #1 "
        r"'sgd(_\d+)?/learning_rate' has shape \(\)")):
        other_optimizer.fit(x, y, batch_size=8, verbose=0,
                            callbacks=[StepCheckpoint(tmp_path)])

    foreign = tmp_path / "foreign"
    tf.train.CheckpointManager(
        tf.train.Checkpoint(v=tf.Variable(1.0)), str(foreign), 1).save()
    with pytest.raises(ValueError, match="was not written by StepCheckpoint"):
        model.fit(x, y, batch_size=8, verbose=0,
                  callbacks=[StepCheckpoint(foreign)])

    same = tiny_classifier()
    same.compile(jit_compile=False)
    with pytest.raises(ValueError, match="2 steps per epoch, but this fit "
                                         "has 4"):
        same.fit(x, y, batch_size=4, verbose=0,
                 callbacks=[StepCheckpoint(tmp_path)])


# ---------------------------------------------------------------- paths --


def test_relative_directory_resumes_from_another_working_directory(
        tmp_path, monkeypatch):
    """A relative directory, a rerun from elsewhere and through a symlink
    all resume the same run instead of starting over."""
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    template = mlp()
    losses = train(mlp(template), StepCheckpoint("runs/x/ckpt",
                                                 every_n_steps=4),
                   shuffle=True, stop_after=8)
    assert max(losses) == 8
    state = latest_checkpoint_state("runs/x/ckpt")
    assert state["global_step"] == 8
    assert state["path"] == str(project / "runs/x/ckpt/ckpt-8")

    # Rerun from another working directory, with a relative path to it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    model = mlp(template)
    resumed = train(model, StepCheckpoint("../project/runs/x/ckpt",
                                          every_n_steps=4),
                    shuffle=True, stop_after=12)
    assert min(resumed) == 9 and max(resumed) == 12

    # And through a symlink to the run directory.
    os.symlink(project / "runs", elsewhere / "linked")
    model = mlp(template)
    resumed = train(model, StepCheckpoint("linked/x/ckpt", every_n_steps=4),
                    shuffle=True)
    assert min(resumed) == 13 and int(model.optimizer.iterations) == 18


def test_index_written_under_a_relative_directory_still_resumes(
        tmp_path, monkeypatch):
    """An index that records the relative directory (as main's before this
    fix did: `runs/x/ckpt-8`) is read by file name, not re-joined."""
    monkeypatch.chdir(tmp_path)
    template = mlp()
    train(mlp(template), StepCheckpoint("runs/x", every_n_steps=4),
          shuffle=True, stop_after=8)
    index = tmp_path / "runs/x/checkpoint"
    index.write_text(index.read_text().replace('"ckpt-', '"runs/x/ckpt-'))
    assert '"runs/x/ckpt-8"' in index.read_text()
    resumed = train(mlp(template), StepCheckpoint("runs/x", every_n_steps=4),
                    shuffle=True)
    assert min(resumed) == 9


def test_unreadable_newest_checkpoint_is_an_error_naming_it(tmp_path):
    template = mlp()
    directory = tmp_path / "run"
    train(mlp(template), StepCheckpoint(directory, every_n_steps=4),
          shuffle=True, stop_after=8)
    for name in os.listdir(directory):
        if name.startswith("ckpt-8."):
            os.remove(directory / name)
    with pytest.raises(ValueError, match=(
            rf"newest checkpoint in {directory} cannot be read: "
            rf"{directory}/ckpt-8 .*NotFoundError.*To go on from the older "
            rf"{directory}/ckpt-6, remove the lines naming ckpt-8 from "
            rf"{directory}/checkpoint")):
        train(mlp(template), StepCheckpoint(directory, every_n_steps=4),
              shuffle=True)


def test_a_model_without_compiled_metrics_resumes_after_an_epoch_end(
        tmp_path):
    """A TextEmbedder trains on its ranking loss alone (an empty, unbuilt
    CompileMetrics until its first real step): resuming after an epoch's
    last step reports that epoch's restored loss and trains the next."""
    from tests.models.test_text_embedder import embedder, paraphrase_pairs

    anchors, positives = paraphrase_pairs(32)
    data = {"anchor": anchors, "positive": positives}
    first = embedder()
    first.compile(learning_rate=1e-3, jit_compile=False)
    first.fit(data, batch_size=16, epochs=1, verbose=0,
              callbacks=[StepCheckpoint(str(tmp_path))])
    again = embedder()
    again.compile(learning_rate=1e-3, jit_compile=False)
    history = again.fit(data, batch_size=16, epochs=2, verbose=0,
                        callbacks=[StepCheckpoint(str(tmp_path))])
    assert latest_checkpoint_state(str(tmp_path))["global_step"] == 4
    assert len(history.history["loss"]) == 2
