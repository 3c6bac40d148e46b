"""A recipe's run directory: checkpoints, logs and history; resuming.

Layout of `--model_dir`:

    config.yaml     the settings of the run (a rerun must match them)
    checkpoints/    StepCheckpoint: weights, optimizer state, data position
    logs/           TensorBoard (loss, metrics, learning rate, throughput)
    history.json    per-epoch training and validation metrics, all runs
    eval.json       final evaluation (written by the recipe)
    predictions.jsonl  the prediction for each evaluation example
    curves.png      training and validation curves

Running a recipe again on the same directory resumes from the newest
checkpoint (after an interruption, or with more `--epochs`) instead of
starting from scratch.
"""

import json
import math
import os

import keras
import yaml

from tfzoo.training.checkpoints import StepCheckpoint, latest_checkpoint_state
from tfzoo.training.training_logger import TrainingLogger


class RunDirectory:
    """Paths and callbacks of one training run; see the module doc.

    `fixed_settings` names the settings a resumed run must share with the
    run that wrote the checkpoints (those that shape the model or the
    data order); a mismatch is an error that names them.

    Example:

    >>> import os, tempfile
    >>> run = RunDirectory(os.path.join(tempfile.mkdtemp(), "run"))
    >>> run.start({"sequence_length": 64, "epochs": 2}, ["sequence_length"])  # doctest: +ELLIPSIS
    run directory: ... (new run)
    >>> run.resumed_step, os.path.basename(run.curves_path)
    (0, 'curves.png')
    """

    def __init__(self, model_dir):
        # Absolute, so that printed paths and commands work from anywhere.
        self.model_dir = os.path.abspath(os.fspath(model_dir))
        self.checkpoint_dir = os.path.join(self.model_dir, "checkpoints")
        self.log_dir = os.path.join(self.model_dir, "logs")
        self.config_path = os.path.join(self.model_dir, "config.yaml")
        self.history_path = os.path.join(self.model_dir, "history.json")
        self.evaluation_path = os.path.join(self.model_dir, "eval.json")
        self.curves_path = os.path.join(self.model_dir, "curves.png")
        self.predictions_path = os.path.join(self.model_dir,
                                             "predictions.jsonl")
        self.resumed_step = 0

    def path(self, name):
        return os.path.join(self.model_dir, name)

    def start(self, settings, fixed_settings=()):
        """Checks a resumed run's settings, then records this run's."""
        os.makedirs(self.model_dir, exist_ok=True)
        state = latest_checkpoint_state(self.checkpoint_dir)
        if state is not None and os.path.exists(self.config_path):
            with open(self.config_path, encoding="utf-8") as file:
                saved = yaml.safe_load(file) or {}
            changed = [
                f"{key}: {saved.get(key)!r} -> {settings.get(key)!r}"
                for key in fixed_settings
                if saved.get(key) != settings.get(key)
            ]
            if changed:
                raise ValueError(
                    f"{self.model_dir} holds checkpoints of a run with other "
                    f"settings ({'; '.join(changed)}), so it cannot resume "
                    f"from them. Fix: rerun with the same settings, or pass "
                    f"a new --model_dir."
                )
        if state is None:
            print(f"run directory: {self.model_dir} (new run)")
        else:
            self.resumed_step = state["global_step"]
            print(
                f"run directory: {self.model_dir}: resuming from "
                f"{os.path.basename(state['path'])} ({state['global_step']} "
                f"steps trained, epoch {state['epoch'] + 1})"
            )
        with open(self.config_path, "w", encoding="utf-8") as file:
            yaml.safe_dump(dict(settings), file, sort_keys=True)

    def callbacks(self, batch_size=None, sequence_length=None,
                  every_n_steps=None):
        """StepCheckpoint, TensorBoard, TrainingLogger and the history."""
        return [
            StepCheckpoint(self.checkpoint_dir, every_n_steps=every_n_steps),
            keras.callbacks.TensorBoard(self.log_dir),
            TrainingLogger(self.log_dir, batch_size=batch_size,
                           sequence_length=sequence_length),
            EpochHistory(self.history_path),
        ]

    def history(self):
        """`{metric: [value per epoch]}` of every run in this directory."""
        return EpochHistory(self.history_path).as_lists()


class EpochHistory(keras.callbacks.Callback):
    """Keeps every epoch's logs in a JSON file, across resumed runs.

    A resumed run rewrites the epochs it trains again and keeps the
    others, so the file holds one entry per epoch of the whole run.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path

    def _load(self):
        if not os.path.exists(self.path):
            return {}
        with open(self.path, encoding="utf-8") as file:
            return {int(epoch): logs for epoch, logs in json.load(file).items()}

    def on_epoch_end(self, epoch, logs=None):
        epochs = self._load()
        epochs[epoch] = {
            key: float(value) for key, value in (logs or {}).items()
            if _is_number(value)
        }
        temporary = self.path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump({str(k): epochs[k] for k in sorted(epochs)}, file,
                      indent=1)
        os.replace(temporary, self.path)

    def as_lists(self):
        epochs = self._load()
        keys = sorted({key for logs in epochs.values() for key in logs})
        return {
            key: [epochs[epoch].get(key, math.nan) for epoch in sorted(epochs)]
            for key in keys
        }


def _is_number(value):
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
