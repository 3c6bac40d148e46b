"""Step checkpoints: `fit` resumes exactly where a killed run stopped.

Why not `keras.callbacks.BackupAndRestore` (Keras 3.15)? It overwrites one
`latest.weights.h5` in place, so a process killed while writing it leaves
a corrupt "latest"; it restores only the epoch counter, so a run stopped
mid-epoch retrains that epoch from its first batch on weights that have
already seen part of it (the batch index is written but never read); it
keeps no input-pipeline state, so a reshuffling dataset restarts its
shuffle sequence; and unlike Keras 2 it has no chief/worker split.
`StepCheckpoint` keeps its interface (one directory, restore on
`on_train_begin`; as in Keras 2, workers other than the chief write to
temporary directories) and fixes those four points.
"""

import glob
import json
import math
import os
import re
import shutil
import warnings

import keras
import tensorflow as tf

from tfzoo.legacy_layout import in_shape
from tfzoo.training.strategies import _tf_config

FORMAT_VERSION = 1
_VALUE = ".ATTRIBUTES/VARIABLE_VALUE"


class StepCheckpoint(keras.callbacks.Callback):
    """Saves the training state every N steps; `fit` resumes from it.

    Each checkpoint holds the model's variables (with dropout seed
    states), the optimizer's (with `iterations`, so a learning-rate
    schedule goes on from the same step, and the moments), the metric
    accumulators, the epoch and step counters, and the state the epoch's
    data iterator had before its first batch. Checkpoints are written
    every `every_n_steps` steps and after the last step of each epoch,
    with `tf.train.CheckpointManager`, as `ckpt-<steps trained>`; the
    newest `max_to_keep` are kept.

    When `fit` starts on a directory that holds a checkpoint, it restores
    it and goes on after the saved step: same global step, learning rate,
    optimizer moments and metric values, and the same batches as an
    uninterrupted run. Call `fit` with the arguments of the interrupted
    run (data, batch size, `steps_per_execution`; more epochs are fine,
    but a default schedule sized from them then differs). A checkpoint
    whose variables do not match the model is a `ValueError` naming the
    first mismatched variable.

    Guarantees:
    - A killed process never leaves a corrupt "latest": the data files
      are written (shards in a temporary directory, then merged), then
      the `checkpoint` index file is replaced by an atomic rename; until
      then "latest" is the previous complete checkpoint. A rerun deletes
      what killed saves left. (A rename, not an fsync: a power loss just
      after a save may still lose it on some file systems.)
    - Data order: on resume, the epoch's iterator state is restored (for
      a finite dataset, the epoch's tf.data shuffle seeds; for a repeated
      one with `steps_per_epoch`, its position) and the batches already
      trained are read and dropped: input pipeline only, no training.
      So a deterministic pipeline (seeded `shuffle`, with or without
      `reshuffle_each_iteration`, no unseeded random ops) gives the same
      batches as an uninterrupted run, in the resumed epoch and after.
      (The live iterator state is not what is saved: once prefetching
      has read an epoch to its end, it no longer holds the shuffle seeds,
      and restoring it would shift the later epochs' order.)
    - Callbacks see the resumed epoch's already trained steps pass by,
      untrained, with the checkpoint's metric values. A run resumed from
      an epoch's last step runs that epoch's `on_epoch_end` (validation)
      again. Other callbacks' state (e.g. EarlyStopping's patience) is not
      saved; a resumed `fit` returns the history of the resumed part.
    - Where the iterator state cannot be saved (a warning says so:
      `from_generator`, `py_function`, and tf.distribute iterators, i.e.
      MirroredStrategy, in TF 2.21) and under MultiWorkerMirroredStrategy
      (each worker reads its own shard), the trained batches are dropped
      from a new iterator instead: the same batches if the dataset's order
      is the same every epoch; if it reshuffles, the resumed epoch trains
      on the rest of a new order (so it may repeat or miss examples). The
      same holds, without a warning, for NumPy inputs with
      `fit(shuffle=True)`: Keras shuffles them with random ops whose state
      tf.data does not save. For exact resumption, pass a `tf.data`
      dataset shuffled with a seed.

    Multi-worker (MultiWorkerMirroredStrategy with `TF_CONFIG`): every
    worker saves (saving reads mirrored and on-read variables together),
    but only the chief writes to `directory`; the others write to a
    temporary directory inside it and delete it after each save. Every
    worker restores from `directory`, which must be on storage all
    workers see.

    Args:
        directory: where checkpoints go; one directory per training run.
            A relative path is taken from the working directory when the
            callback is made, and kept as an absolute path, so a rerun
            from any directory (or through a symlink) finds the same run.
        every_n_steps: save after every this many training steps; None to
            save only at the end of each epoch.
        max_to_keep: how many of the newest checkpoints to keep.

    Example:

    >>> import numpy as np
    >>> import tempfile
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("adam", "mse")
    >>> x, y = np.ones((8, 2)), np.zeros((8, 1))
    >>> directory = tempfile.mkdtemp()
    >>> checkpoint = StepCheckpoint(directory, every_n_steps=2)
    >>> _ = model.fit(x, y, batch_size=2, epochs=2, verbose=0,
    ...               callbacks=[checkpoint])
    >>> latest_checkpoint_state(directory)["global_step"]
    8
    >>> # Resumes after the last step of epoch 2, then trains epoch 3.
    >>> history = model.fit(x, y, batch_size=2, epochs=3, verbose=0,
    ...                     callbacks=[checkpoint])
    >>> len(history.history["loss"]), int(model.optimizer.iterations)
    (2, 12)
    """

    def __init__(self, directory, every_n_steps=None, max_to_keep=3):
        super().__init__()
        if not directory:
            raise ValueError("StepCheckpoint needs a directory, got "
                             f"{directory!r}.")
        if every_n_steps is not None and (
            not isinstance(every_n_steps, int) or every_n_steps < 1
        ):
            raise ValueError(
                f"every_n_steps must be a positive integer or None, got "
                f"{every_n_steps!r}."
            )
        self.directory = absolute_directory(directory)
        self.every_n_steps = every_n_steps
        self.max_to_keep = max_to_keep
        self._state_variable = None
        self._epoch_start_variable = None
        self._save_data = True

    # ------------------------------------------------------- callbacks --

    def on_train_begin(self, logs=None):
        config = self._cluster_config()
        self._multi_worker = config is not None
        self._is_chief = is_chief(config)
        self._write_directory = worker_directory(self.directory, config)
        if not self._is_chief and tf.io.gfile.exists(self._write_directory):
            tf.io.gfile.rmtree(self._write_directory)  # a killed save's
        if self._state_variable is None:
            with tf.init_scope():
                self._state_variable = tf.Variable("", trainable=False)
                self._epoch_start_variable = tf.Variable(
                    tf.constant([], tf.string), shape=tf.TensorShape([None]),
                    trainable=False,
                )
        self._epoch_start = []
        self._new_epoch = False
        self._epoch = 0
        self._step_in_epoch = 0
        self._global_step = 0
        self._trained_last_call = False
        self._resume = None
        latest = _readable_latest(self.directory)
        if self._is_chief:
            _remove_partial_saves(self.directory)
        if latest is not None:
            self._restore(*latest)
        self._last_saved_step = self._global_step
        self._wrap_train_function()

    def _cluster_config(self):
        """The parsed `TF_CONFIG` when training on several workers."""
        strategy = self.model.distribute_strategy
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return _tf_config()
        return None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._step_in_epoch = 0
        self._new_epoch = True
        if self._resume is not None and epoch == self._resume["epoch"]:
            self._step_in_epoch = self._resume["step_in_epoch"]

    def on_train_batch_end(self, batch, logs=None):
        if not self._trained_last_call:
            return  # a step the checkpoint had already trained
        steps = self.params.get("steps")
        # The last call of an epoch may run fewer than steps_per_execution.
        done = min(batch + 1, steps) if steps else batch + 1
        self._global_step += done - self._step_in_epoch
        self._step_in_epoch = done
        if (steps and self._step_in_epoch >= steps) or (
            self.every_n_steps and self._global_step // self.every_n_steps
            > self._last_saved_step // self.every_n_steps
        ):
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._resume = None  # e.g. resumed after the epoch's last step
        # Epochs of unknown length, or cut short: save where they ended.
        if self._global_step > self._last_saved_step:
            self._save()

    def on_train_end(self, logs=None):
        self._unwrap_train_function()
        self.model._initial_epoch = None

    # ----------------------------------------------- the train function --

    def _wrap_train_function(self):
        """Routes `fit`'s steps through `_step`, to see the data iterator."""
        function = self.model.train_function
        function = getattr(function, "_step_checkpoint_original", function)

        def train_function(iterator):
            return self._step(function, iterator)

        train_function._step_checkpoint_original = function
        self.model.train_function = train_function

    def _unwrap_train_function(self):
        function = self.model.train_function
        original = getattr(function, "_step_checkpoint_original", None)
        if original is not None:
            self.model.train_function = original

    def _step(self, train_function, iterator):
        """One call of `fit`'s train function, seen by the checkpoint.

        At the first call of an epoch, the iterator has yielded nothing
        yet: its state (the epoch's shuffle seeds, and for a repeated
        dataset its position) is kept for the checkpoints of the epoch.
        On resume, that state is restored instead, the calls for the
        steps the checkpoint had trained return the restored metrics, and
        the first real call reads and drops those steps' batches.
        """
        resume = self._resume
        if self._new_epoch:
            self._new_epoch = False
            if resume is not None:
                self.model._initial_epoch = None  # fit has read it
                self._epoch_start = resume["epoch_start"]
                _restore_iterator(iterator, self._epoch_start)
                self._restore_metrics(iterator, resume)
            elif self._save_data and not self._multi_worker:
                self._epoch_start = self._capture(iterator)
        if resume is not None and resume["calls_to_pass"] > 0:
            resume["calls_to_pass"] -= 1
            self._trained_last_call = False
            return self.model.get_metrics_result()
        if resume is not None:
            for _ in range(resume["step_in_epoch"]):
                next(iterator)
            self._resume = None
        self._trained_last_call = True
        return train_function(iterator)

    # --------------------------------------------------------- restore --

    def _capture(self, iterator):
        """The state of a new epoch's iterator, or [] with a warning."""
        if isinstance(iterator, tf.distribute.DistributedIterator):
            reason = "TensorFlow cannot checkpoint tf.distribute iterators"
        else:
            try:
                return _serialize_iterator(iterator)
            except (tf.errors.OpError, ValueError, TypeError) as error:
                reason = f"{type(error).__name__}: {str(error)[:200]}"
        warnings.warn(
            f"StepCheckpoint: the input iterator's state cannot be saved "
            f"({reason}). A resumed run drops its epoch's trained batches "
            f"from a new iterator: the same batches as an uninterrupted "
            f"run only if the dataset's order is the same every epoch."
        )
        self._save_data = False
        return []

    def _restore(self, path, state):
        model = self.model
        optimizer = model.optimizer
        if optimizer is not None and not optimizer.built:
            with model.distribute_strategy.scope():
                optimizer.build(model.trainable_variables)
        reader = tf.train.load_checkpoint(path)
        optimizer_variables = optimizer.variables if optimizer else []
        for group, variables in (
            ("model", model.variables), ("optimizer", optimizer_variables)
        ):
            sources = _saved_positions(path, group, state[group], variables)
            for variable, index in zip(variables, sources):
                value = reader.get_tensor(f"{group}/{index}/{_VALUE}")
                variable.assign(in_shape(value, variable.shape))
        self._check_steps_per_epoch(path, state)
        epoch, step = state["epoch"], state["step_in_epoch"]
        per_call = self.model.steps_per_execution or 1
        if step % per_call and step != state["steps_per_epoch"]:
            raise ValueError(
                f"Checkpoint {path} was written after step {step} of epoch "
                f"{epoch + 1}, which is not a multiple of "
                f"steps_per_execution={per_call}. Resume with the "
                f"steps_per_execution of the interrupted run."
            )
        epoch_start = []
        if not self._multi_worker:
            epoch_start = [
                bytes(item)
                for item in reader.get_tensor(f"epoch_start/{_VALUE}")
            ]
        self._global_step = state["global_step"]
        self._resume = {
            "path": path,
            "epoch": epoch,
            "step_in_epoch": step,
            "metrics": state["metrics"],
            "epoch_start": epoch_start,
            "calls_to_pass": -(-step // per_call),  # the last may be short
        }
        model._initial_epoch = epoch
        if self.params.get("verbose", 1):
            print(
                f"StepCheckpoint: resuming from {path}: epoch {epoch + 1}, "
                f"after step {step} ({state['global_step']} steps trained)."
            )

    def _check_steps_per_epoch(self, path, state):
        steps, saved = self.params.get("steps"), state["steps_per_epoch"]
        if steps and saved and steps != saved:
            raise ValueError(
                f"Checkpoint {path} was written by a fit with {saved} steps "
                f"per epoch, but this fit has {steps}. Resume with the same "
                f"data, batch size and steps_per_epoch, or train in a new "
                f"directory."
            )

    def _restore_metrics(self, iterator, resume):
        """Puts back the metric accumulators of the interrupted epoch."""
        model = self.model
        saved = resume["metrics"]
        compiled = getattr(model, "_compile_metrics", None)
        if (compiled is not None and not compiled.built
                and not compiled._user_metrics
                and not compiled._user_weighted_metrics):
            # No compiled metrics (e.g. a TextEmbedder's ranking loss): an
            # empty CompileMetrics is built by its first real step, and
            # until then its result() raises, which a resumed epoch's
            # trained steps (or an epoch resumed after its last step)
            # would call.
            compiled.build(None, None)
        if saved and len(model.metrics_variables) < len(saved):
            try:  # compiled metrics are built on the first step
                model._symbolic_build(data_batch=iterator.element_spec)
            except Exception:  # then the check below warns
                pass
        variables = model.metrics_variables
        if [entry[1] for entry in saved] != [
            list(v.shape) for v in variables
        ]:
            warnings.warn(
                f"StepCheckpoint: the metrics of {resume['path']} do not "
                f"match the model's; the resumed epoch's metrics count "
                f"only the steps after resuming."
            )
            return
        reader = tf.train.load_checkpoint(resume["path"])
        for index, variable in enumerate(variables):
            variable.assign(reader.get_tensor(f"metrics/{index}/{_VALUE}"))

    # ------------------------------------------------------------ save --

    def _save(self):
        model = self.model
        optimizer_variables = (
            model.optimizer.variables if model.optimizer else []
        )
        metric_variables = model.metrics_variables
        state = {
            "format": FORMAT_VERSION,
            "epoch": self._epoch,
            "step_in_epoch": self._step_in_epoch,
            "global_step": self._global_step,
            "steps_per_epoch": self.params.get("steps"),
            "model": _manifest(model.variables),
            "optimizer": _manifest(optimizer_variables),
            "metrics": _manifest(metric_variables),
        }
        self._state_variable.assign(json.dumps(state))
        self._epoch_start_variable.assign(
            tf.constant(self._epoch_start, dtype=tf.string)
        )
        root = tf.train.Checkpoint(
            state=self._state_variable,
            epoch_start=self._epoch_start_variable,
            model=list(model.variables),
            optimizer=list(optimizer_variables),
            metrics=list(metric_variables),
        )
        manager = tf.train.CheckpointManager(
            root, self._write_directory, max_to_keep=self.max_to_keep
        )
        manager.save(checkpoint_number=self._global_step)
        if not self._is_chief:
            tf.io.gfile.rmtree(self._write_directory)
        self._last_saved_step = self._global_step


# ------------------------------------------------------------- helpers --


def latest_checkpoint_state(directory):
    """The counters of the newest checkpoint in `directory`, or None.

    A dict with `path`, `epoch` (0-based), `step_in_epoch`, `global_step`
    (steps trained) and `steps_per_epoch`.
    """
    latest = _readable_latest(directory)
    if latest is None:
        return None
    path, state = latest
    keys = ("epoch", "step_in_epoch", "global_step", "steps_per_epoch")
    return {"path": path, **{key: state[key] for key in keys}}


def _serialize_iterator(iterator):
    """The state of a tf.data iterator, as a list of strings.

    Written with `tf.train.Checkpoint` to TensorFlow's in-memory file
    system, read back: the file names, then their contents.
    """
    prefix = tf.train.Checkpoint(data=iterator).write(
        f"ram://tfzoo-step-checkpoint/{id(iterator)}/data"
    )
    files = sorted(tf.io.gfile.glob(prefix + "*"))
    contents = []
    for name in files:
        with tf.io.gfile.GFile(name, "rb") as file:
            contents.append(file.read())
        tf.io.gfile.remove(name)
    return [name[len(prefix):].encode() for name in files] + contents


def _restore_iterator(iterator, serialized):
    """Restores a state from `_serialize_iterator` into `iterator`."""
    if len(serialized) < 2:
        return
    prefix = f"ram://tfzoo-step-checkpoint/{id(iterator)}/restore"
    half = len(serialized) // 2
    names = [name.decode() for name in serialized[:half]]
    for name, content in zip(names, serialized[half:]):
        with tf.io.gfile.GFile(prefix + name, "wb") as file:
            file.write(content)
    try:
        tf.train.Checkpoint(data=iterator).read(prefix).expect_partial()
    finally:
        for name in names:
            tf.io.gfile.remove(prefix + name)


def _read_state(path):
    """The counters and variable lists saved in checkpoint `path`."""
    reader = tf.train.load_checkpoint(path)
    if not reader.has_tensor(f"state/{_VALUE}"):
        raise ValueError(
            f"Checkpoint {path} was not written by StepCheckpoint; give "
            f"StepCheckpoint a directory of its own."
        )
    state = json.loads(reader.get_tensor(f"state/{_VALUE}"))
    if state.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"Checkpoint {path} has format {state.get('format')}; this "
            f"StepCheckpoint reads format {FORMAT_VERSION}."
        )
    return state


def absolute_directory(directory):
    """`directory` as an absolute local path (URLs such as gs:// as given).

    >>> import os
    >>> absolute_directory("runs/x") == os.path.join(os.getcwd(), "runs/x")
    True
    >>> absolute_directory("gs://bucket/run")
    'gs://bucket/run'
    """
    directory = os.fspath(directory)
    if "://" in directory:
        return directory
    return os.path.abspath(directory)


def _listed_checkpoints(directory):
    """[(path the index names, path in `directory`)], the newest last.

    A checkpoint's files always lie beside the `checkpoint` index, so each
    listed checkpoint is found by its file name. That also reads indexes
    written under a relative directory (which name `runs/x/ckpt-5`, read by
    TensorFlow as `runs/x/runs/x/ckpt-5`) and directories moved since.
    """
    if not tf.io.gfile.isdir(directory):
        return []
    state = tf.train.get_checkpoint_state(directory)
    if state is None:
        return []
    named = [p for p in state.all_model_checkpoint_paths
             if p != state.model_checkpoint_path]
    named.append(state.model_checkpoint_path)
    return [
        (path, os.path.join(directory, os.path.basename(path)))
        for path in named
    ]


def _readable_latest(directory):
    """(path, state) of the newest checkpoint in `directory`, or None.

    A newest checkpoint that cannot be read is an error naming it: going
    on from an older one, or from scratch, would silently lose training.
    """
    directory = absolute_directory(directory)
    listed = _listed_checkpoints(directory)
    if not listed:
        return None
    recorded, path = listed[-1]
    try:
        return path, _read_state(path)
    except tf.errors.OpError as error:
        older = [p for _, p in listed[:-1]]
        hint = (
            f"To go on from the older {older[-1]}, remove the lines naming "
            f"{os.path.basename(path)} from {directory}/checkpoint; to "
            if older else "To "
        ) + "start over, train in a new directory."
        raise ValueError(
            f"StepCheckpoint: the newest checkpoint in {directory} cannot "
            f"be read: {path}"
            + (f" (its index names {recorded})" if recorded != path else "")
            + f" ({type(error).__name__}: {str(error).splitlines()[0][:200]}). "
            f"Restore its files ({os.path.basename(path)}.index and "
            f".data-*) if they were moved. {hint}"
        ) from error


def _remove_partial_saves(directory):
    """Deletes what killed saves left: temporary files, unlisted files."""
    if not os.path.isdir(directory):
        return  # only local directories; elsewhere leftovers stay
    listed = {
        os.path.basename(path) for _, path in _listed_checkpoints(directory)
    }
    for path in glob.glob(os.path.join(directory, "*")):
        name = os.path.basename(path)
        match = re.match(r"(ckpt-\d+)(_temp|\.index$|\.data-)", name)
        if name.startswith("checkpoint.tmp") or (
            match and (match.group(2) == "_temp"
                       or match.group(1) not in listed)
        ):
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)


def _manifest(variables):
    return [[v.path, list(v.shape), str(v.dtype)] for v in variables]


def _saved_positions(path, group, saved, variables):
    """Where each of `variables` lies in the checkpoint's list `saved`.

    Position by position when the shapes agree. Otherwise (a checkpoint
    written before a change of layer layout, e.g. tfzoo's merged attention
    layer) by variable path, a checkpoint value taking a variable's shape
    when only the grouping of its axes differs; random-seed states, whose
    paths carry a process-wide counter, go in order (see
    `tfzoo.legacy_layout`). A ValueError names the first variable that
    matches neither way.
    """
    if [entry[1:] for entry in saved] == [
        entry[1:] for entry in _manifest(variables)
    ]:
        return list(range(len(saved)))
    by_path = {_path_key(group, entry[0]): index
               for index, entry in enumerate(saved)
               if not _is_seed_state(entry[0])}
    seeds = [index for index, entry in enumerate(saved)
             if _is_seed_state(entry[0])]
    positions = []
    for variable in variables:
        index = (seeds.pop(0) if _is_seed_state(variable.path) and seeds
                 else by_path.pop(_path_key(group, variable.path), None))
        if index is None or not _same_size(saved[index], variable):
            positions = None
            break
        positions.append(index)
    if positions is None or by_path or seeds:
        _check_variables(path, group, saved, variables)  # raises
    return positions


def _path_key(group, path):
    """A variable's path without what differs between processes: an
    optimizer's variables start with its name, which Keras numbers
    (`adam_w_3/...`) by how many optimizers the process made before."""
    return path.split("/", 1)[-1] if group == "optimizer" else path


def _is_seed_state(path):
    return path.endswith("seed_generator_state")


def _same_size(entry, variable):
    """Whether a manifest entry has the variable's dtype and size."""
    return (math.prod(entry[1]) == math.prod(variable.shape)
            and entry[2] == str(variable.dtype))


def _check_variables(path, group, saved, variables):
    """Raises a ValueError naming the first variable that does not match."""
    current = _manifest(variables)
    fix = (
        "Build the model (and optimizer) with the configuration of the "
        "run that wrote it, or train in a new directory."
    )
    for index, (old, new) in enumerate(zip(saved, current)):
        if old[1:] != new[1:]:
            raise ValueError(
                f"Checkpoint {path} does not match the {group}: "
                f"{group} variable #{index} '{new[0]}' has shape "
                f"{tuple(new[1])} and dtype {new[2]}, but the checkpoint "
                f"holds shape {tuple(old[1])} and dtype {old[2]} there "
                f"(saved as '{old[0]}'). {fix}"
            )
    if len(saved) != len(current):
        extra = (
            f"the checkpoint also holds '{saved[len(current)][0]}'"
            if len(saved) > len(current)
            else f"the checkpoint lacks '{current[len(saved)][0]}'"
        )
        raise ValueError(
            f"Checkpoint {path} does not match the {group}: it holds "
            f"{len(saved)} {group} variables, the {group} has "
            f"{len(current)}; {extra}. {fix}"
        )


def is_chief(tf_config):
    """Whether this task writes checkpoints, from a parsed `TF_CONFIG`.

    The chief is the task of type "chief" if the cluster has one, else
    worker 0; with no `TF_CONFIG` (one process) it is this process.

    >>> is_chief({"cluster": {"worker": ["a:1", "b:1"]},
    ...           "task": {"type": "worker", "index": 1}})
    False
    """
    if not tf_config:
        return True
    task_type = tf_config["task"]["type"]
    if "chief" in tf_config["cluster"]:
        return task_type == "chief"
    return task_type == "worker" and tf_config["task"]["index"] == 0


def worker_directory(directory, tf_config):
    """Where this task writes: `directory` for the chief, else a
    temporary directory inside it (deleted after each save).

    >>> worker_directory("run/ckpt", {"cluster": {"worker": ["a:1", "b:1"]},
    ...                               "task": {"type": "worker", "index": 1}})
    'run/ckpt/.worker-temp-worker-1'
    """
    if is_chief(tf_config):
        return directory
    task = tf_config["task"]
    return os.path.join(
        directory, f".worker-temp-{task['type']}-{task['index']}"
    )
