"""Picking a `tf.distribute` strategy from one name."""

import glob
import json
import os

import tensorflow as tf

STRATEGY_NAMES = (
    "auto", "default", "one_device", "mirrored", "multi_worker", "tpu",
)


def _tf_config():
    """The parsed TF_CONFIG, or None; malformed values are clear errors."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"TF_CONFIG is not valid JSON ({error.msg} at character "
            f"{error.pos}). It should look like "
            '{"cluster": {"worker": ["host1:port", "host2:port"]}, '
            '"task": {"type": "worker", "index": 0}}.'
        ) from None
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ValueError(
            "TF_CONFIG needs both a 'cluster' dict and a 'task' dict, got "
            f"keys {sorted(config)}."
        )
    role, index = task.get("type"), task.get("index")
    members = cluster.get(role)
    if not isinstance(members, list) or not isinstance(index, int) or not (
        0 <= index < len(members)
    ):
        raise ValueError(
            f"TF_CONFIG's task {task} does not name a member of its cluster "
            f"{cluster}: task.type must be a cluster key and task.index an "
            f"index into that list."
        )
    return config


def _has_local_tpu():
    return bool(glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"))


def resolve_strategy(name="auto", tpu=None):
    """Returns the `tf.distribute.Strategy` that `name` asks for.

    - `auto`: a TPU when `tpu` is given, multi-worker when `TF_CONFIG`
      lists more than one worker, mirrored when several GPUs are visible,
      else the default strategy.
    - `default`: TensorFlow's default (no distribution).
    - `one_device`: the first GPU, or the CPU.
    - `mirrored`: every local GPU, or every logical CPU device.
    - `multi_worker`: MultiWorkerMirroredStrategy from `TF_CONFIG`.
    - `tpu`: TPUStrategy; `tpu` names the TPU ("local" on a TPU VM).

    Example:

    >>> resolve_strategy("default").num_replicas_in_sync
    1
    """
    if name not in STRATEGY_NAMES:
        raise ValueError(
            f"Unknown strategy {name!r}; choose one of {list(STRATEGY_NAMES)}."
        )
    if name == "auto":
        config = _tf_config()
        if tpu:
            name = "tpu"
        elif config and len(config["cluster"].get("worker", [])) > 1:
            name = "multi_worker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(
            gpus[0].name if gpus else "/cpu:0"
        )
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or (
            tf.config.list_logical_devices("CPU")
        )
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multi_worker":
        if _tf_config() is None:
            raise ValueError(
                "strategy 'multi_worker' needs TF_CONFIG describing the "
                "cluster; start the workers with `python -m tfzoo.launch` or "
                "set TF_CONFIG on each machine."
            )
        return _MultiWorkerMirroredStrategy()
    return _tpu_strategy(tpu)


class _MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy with a `reduce` that Keras' `fit` can use.

    Keras reduces values with it that the multi-worker `reduce` rejects
    (keras-team/keras#20329): a whole data batch, a nest (which
    `MirroredStrategy.reduce` maps over), before training; and scalar logs
    with `axis=0` after every step. Here a nest is reduced leaf by leaf,
    and a scalar along `axis` is reduced over the replicas alone.
    """

    def reduce(self, reduce_op, value, axis=None):
        parent = super()

        def reduce_leaf(leaf):
            first = self.experimental_local_results(leaf)[0]
            rank = tf.TensorShape(getattr(first, "shape", ())).rank
            return parent.reduce(
                reduce_op, leaf, None if rank == 0 else axis
            )

        return tf.nest.map_structure(reduce_leaf, value)


def _tpu_strategy(tpu):
    if tpu in (None, "", "local") and not _has_local_tpu():
        raise ValueError(
            "strategy 'tpu' found no TPU: this machine has no local TPU "
            "devices. Run on a TPU VM (with tpu='local'), pass the name of "
            "a TPU node as tpu=..., or choose another strategy."
        )
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu=tpu or "local"
    )
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def check_global_batch_size(batch_size, strategy, micro_batches=1):
    """Raises unless `batch_size` splits evenly over the replicas (and each
    replica's share into `micro_batches` equal parts)."""
    parts = strategy.num_replicas_in_sync * micro_batches
    if batch_size is not None and batch_size % parts:
        split = f"over {strategy.num_replicas_in_sync} replicas"
        if micro_batches > 1:
            split += f" and {micro_batches} accumulation micro-batches"
        raise ValueError(
            f"The global batch size {batch_size} does not divide evenly "
            f"{split}; use a multiple of {parts}, e.g. "
            f"{(batch_size // parts + 1) * parts}."
        )