"""Base class of the task models: presets, defaults for compile, checks."""

import inspect
import math
import threading
import warnings

import keras
import numpy as np
import tensorflow as tf

from tfzoo.models import input_checks, registry
from tfzoo.preprocessing.length_buckets import trim_to_length_bucket
from tfzoo.training.adamw import AdamW
from tfzoo.training.compile_notice import CompileNotice
from tfzoo.training.nan_guard import NaNGuard
from tfzoo.training.schedules import WarmupDecay
from tfzoo.training.strategies import check_global_batch_size

WARMUP_FRACTION = 0.1

# Tasks that read only the sequence output leave the pooler without
# gradients by design; Keras would warn about that on every fit.
warnings.filterwarnings(
    "ignore",
    message=r"Gradients do not exist for variables "
    r"\['[\w/]*pooler/kernel', '[\w/]*pooler/bias'\]",
)


class TaskBase:
    """What every task model shares: presets, defaults for compile, checks.

    It has no Keras base on purpose. Building a functional model from a
    `keras.Model` subclass makes Keras rewrite the bases of every class on
    the way up to put `Functional` in (`inject_functional_model_class`);
    with the shared methods here, only `Task` is rewritten, and a
    subclassed task (`TextEmbedder(TaskBase, keras.Model)`) keeps a plain
    `keras.Model` base whatever was built before it.

    `compile()` with no arguments gives the task's defaults: AdamW with
    linear warmup and decay (sized from the first `fit` call), the task's
    loss and metrics, and an XLA-compiled (`jit_compile=True`) step.
    `fit`, `evaluate` and `predict` check input keys and token ids before
    any data reaches the compiled step.

    With a `preprocessor`, the same methods take raw data (e.g. lists of
    strings and labels, or a `tf.data.Dataset` of batches of them): the
    preprocessor runs in `tf.data`, in parallel and prefetched, before the
    XLA step.

    Subclasses set `backbone_class`, `extra_input_keys` (inputs beyond the
    backbone's), `default_learning_rate`, and implement `default_loss` and
    `default_metrics`. A task whose loss needs several outputs returns None
    from `default_loss` and implements `task_loss`.
    """

    backbone_class = None
    extra_input_keys = ()
    # The preprocessor `from_pretrained(..., sequence_length=)` attaches.
    preprocessor_class = None
    # Which serving signatures `tfzoo.export` writes: "classifier",
    # "token_classifier", "question_answerer", "generator", or None.
    serving_kind = None
    default_learning_rate = 5e-5

    def __init__(self, *args, preprocessor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.preprocessor = preprocessor

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """Builds the task on a randomly initialised preset backbone.

        Keyword arguments that the backbone takes (e.g. `vocabulary_size`)
        go to the backbone; `dtype` goes to both; the rest go to the task.
        """
        backbone_args = set(
            inspect.signature(cls.backbone_class.__init__).parameters
        ) - {"self", "kwargs", "name"}
        backbone_kwargs = {
            key: kwargs.pop(key) for key in list(kwargs) if key in backbone_args
        }
        if "dtype" in backbone_kwargs:
            kwargs["dtype"] = backbone_kwargs["dtype"]
        backbone = cls.backbone_class.from_preset(preset, **backbone_kwargs)
        return cls(backbone=backbone, **kwargs)

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        """Loads a Hugging Face checkpoint directory (or hub id): the
        backbone, and the head when the checkpoint has this task's (else it
        starts fresh, with a warning). `sequence_length=` also attaches the
        task's preprocessor with the checkpoint's tokenizer. See
        `tfzoo.convert.from_pretrained.load_task`."""
        return registry.pretrained_io("load_task")(cls, path, **kwargs)

    def save_pretrained(self, directory, **kwargs):
        """Writes a Hugging Face checkpoint (weights, config, tokenizer);
        see `tfzoo.convert.save_pretrained`."""
        registry.pretrained_io("save_pretrained")(self, directory, **kwargs)

    @property
    def input_keys(self):
        return tuple(self.backbone.input_keys) + tuple(self.extra_input_keys)

    def __call__(self, inputs, *args, **kwargs):
        input_checks.check_input_keys(
            type(self).__name__, inputs, self.input_keys
        )
        return super().__call__(inputs, *args, **kwargs)

    # ----------------------------------------------------------- compile --

    def default_loss(self):
        raise NotImplementedError

    def default_metrics(self):
        return []

    def default_weighted_metrics(self):
        """Metrics weighted by `sample_weight` (e.g. to skip padding)."""
        return None

    def task_loss(self, y, y_pred, sample_weight):
        raise NotImplementedError

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        metrics="auto",
        weighted_metrics="auto",
        jit_compile=True,
        learning_rate=None,
        gradient_accumulation_steps=1,
        log_gradient_norm=False,
        **kwargs,
    ):
        """Compiles with the task's defaults wherever "auto" is given.

        Args:
            optimizer: "auto" for AdamW with warmup and linear decay, peaking
                at `learning_rate` (default: the task's
                `default_learning_rate`).
            loss: "auto" for the task's loss.
            metrics: "auto" for the task's metrics.
            weighted_metrics: "auto" for the task's metrics weighted by
                `sample_weight` (e.g. perplexity over real tokens only).
            jit_compile: compile the training step with XLA (default True).
                On one device Keras compiles the whole step; with several
                replicas (or accumulation, or the gradient norm logged)
                each replica's forward and backward pass is compiled and
                the update runs outside XLA. "per_replica" asks for the
                latter on one device too.
            gradient_accumulation_steps: split each (per-replica) batch into
                this many micro-batches, run them one after another and
                apply their averaged gradients once: the update of the
                whole batch, with the activation memory of one micro-batch.
                Works for every input `fit` takes, raw text included; a
                last partial batch is split too (see `_gradients`). An
                explicit `fit(batch_size=...)` must divide into equal
                micro-batches on every replica.
            log_gradient_norm: add the global norm of each step's (summed,
                unscaled) gradient to the logs as `gradient_norm`; see
                `tfzoo.training.TrainingLogger`.
        """
        if int(gradient_accumulation_steps) < 1:
            raise ValueError(
                f"gradient_accumulation_steps must be >= 1, got "
                f"{gradient_accumulation_steps}."
            )
        self.gradient_accumulation_steps = int(gradient_accumulation_steps)
        self._pending_schedule = None
        if isinstance(optimizer, str) and optimizer == "auto":
            peak = learning_rate or self.default_learning_rate
            schedule = WarmupDecay(peak, 0, 0, decay="constant")
            self._pending_schedule = schedule
            optimizer = AdamW(learning_rate=schedule)
        self._uses_task_loss = False
        self._auto_arguments = []
        if isinstance(loss, str) and loss == "auto":
            self._auto_arguments.append("loss")
            loss = self.default_loss()
            self._uses_task_loss = loss is None
        if isinstance(metrics, str) and metrics == "auto":
            self._auto_arguments.append("metrics")
            metrics = self.default_metrics()
        if isinstance(weighted_metrics, str) and weighted_metrics == "auto":
            self._auto_arguments.append("weighted_metrics")
            weighted_metrics = self.default_weighted_metrics()
        # Keras cannot XLA-compile a whole step over several devices; then
        # each replica's forward and backward pass is compiled instead,
        # and the reduction and optimizer update run outside XLA.
        # Accumulation and the gradient norm need that step too, with or
        # without XLA.
        replicas = self.distribute_strategy.num_replicas_in_sync
        self.log_gradient_norm = bool(log_gradient_norm)
        needs_own_step = (
            self.gradient_accumulation_steps > 1 or self.log_gradient_norm
        )
        self._xla_per_replica = jit_compile == "per_replica" or (
            jit_compile is True and (replicas > 1 or needs_own_step)
        )
        self._own_step = self._xla_per_replica or needs_own_step
        self._replica_gradients = None
        super().compile(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            weighted_metrics=weighted_metrics,
            jit_compile=False if self._xla_per_replica else jit_compile,
            **kwargs,
        )

    def train_step(self, data):
        if not getattr(self, "_own_step", False):
            return super().train_step(data)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if self._replica_gradients is None:
            self._replica_gradients = tf.function(
                self._gradients, jit_compile=self._xla_per_replica,
                autograph=False,
            )
        gradients, loss, y_pred = self._replica_gradients(
            x, y, sample_weight
        )
        summed = apply_reduced_gradients(
            self.optimizer, gradients, self.trainable_variables
        )
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        self._loss_tracker.update_state(
            loss * replicas,
            sample_weight=tf.shape(tf.nest.flatten(x)[0])[0],
        )
        metrics = self.compute_metrics(x, y, y_pred, sample_weight)
        if self.log_gradient_norm:
            norm = tf.linalg.global_norm([g for g in summed if g is not None])
            scale = getattr(self.optimizer, "dynamic_scale", None)
            metrics["gradient_norm"] = norm if scale is None else norm / scale
        return metrics

    def _gradients(self, x, y, sample_weight):
        """One replica's loss and gradients (XLA-compiled by train_step),
        summed over `gradient_accumulation_steps` micro-batches.

        Any batch splits: its N rows go to micro-batches of ceil(N / steps)
        rows in order, and the rows a short last batch lacks are filled
        with copies of its last row at sample weight 0. Each micro-batch's
        loss counts with weight (micro-batch rows / N). For losses averaged
        over rows (classification, tagging, QA) the update then equals
        the whole batch's; for losses averaged over weighted tokens (masked
        and causal LM), each micro-batch's token mean counts by its share
        of the rows.
        """
        steps = self.gradient_accumulation_steps
        if steps == 1:
            return self._micro_batch_gradients(x, y, sample_weight)
        batch = tf.shape(tf.nest.flatten(x)[0])[0]
        size = (batch + steps - 1) // steps
        share = tf.math.divide_no_nan(
            tf.cast(size, "float32"), tf.cast(batch, "float32")
        )
        total_gradients, total_loss, predictions = None, 0.0, []
        for index in range(steps):
            rows = index * size + tf.range(size)
            real = rows < batch
            rows = tf.minimum(rows, tf.maximum(batch - 1, 0))

            def take(structure):
                if structure is None:
                    return None
                return tf.nest.map_structure(
                    lambda t: tf.gather(t, rows), structure
                )

            part_y = take(y)
            weight = _row_weights(
                take(sample_weight), real,
                None if getattr(self, "_uses_task_loss", False) else part_y,
            )
            gradients, loss, y_pred = self._micro_batch_gradients(
                take(x), part_y, weight
            )
            total_loss += tf.cast(loss, "float32") * share
            predictions.append(y_pred)
            gradients = [
                None if g is None
                else tf.convert_to_tensor(g) * tf.cast(share, g.dtype)
                for g in gradients
            ]
            if total_gradients is None:
                total_gradients = gradients
            else:
                total_gradients = [
                    None if g is None else total + g
                    for total, g in zip(total_gradients, gradients)
                ]
        y_pred = tf.nest.map_structure(
            lambda *parts: tf.concat(parts, axis=0)[:batch], *predictions
        )
        return total_gradients, total_loss, y_pred

    def _micro_batch_gradients(self, x, y, sample_weight):
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                training=True,
            )
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, self.trainable_variables)
        return gradients, loss, y_pred

    def get_compile_config(self):
        config = super().get_compile_config()
        if config:
            config["auto_arguments"] = list(self._auto_arguments)
            config["gradient_accumulation_steps"] = (
                self.gradient_accumulation_steps
            )
            config["log_gradient_norm"] = self.log_gradient_norm
        return config

    def compile_from_config(self, config):
        """Recompiles a loaded model as it was compiled before saving."""
        config = keras.saving.deserialize_keras_object(config)
        for argument in config.pop("auto_arguments", []):
            config[argument] = "auto"
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        if not getattr(self, "_uses_task_loss", False):
            return super().compute_loss(
                x, y, y_pred, sample_weight, training=training
            )
        loss = self.task_loss(y, y_pred, sample_weight)
        # As Keras does for compiled losses: each replica's loss is divided
        # by the replica count, so that summed gradients average them.
        replica_context = tf.distribute.get_replica_context()
        if replica_context is not None:
            loss = loss / replica_context.num_replicas_in_sync
        for extra in self.losses:
            loss = loss + self._aggregate_additional_loss(extra)
        return loss

    # ------------------------------------------------------ fit/evaluate --

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        steps_per_epoch=None,
        validation_data=None,
        length_buckets=False,
        **kwargs,
    ):
        """`keras.Model.fit`, with raw data when there is a preprocessor.

        With `length_buckets=True`, each batch is cut to the shortest
        length bucket (16, 32, 64, ... the sequence length) that holds its
        tokens: short batches cost less, and the XLA step compiles once per
        bucket rather than once per batch shape.

        When verbose (Keras' default), the first fit after `compile` says
        that the first step compiles the XLA step, and how long it took.
        """
        sample_weight = kwargs.pop("sample_weight", None)
        check_global_batch_size(
            batch_size, self.distribute_strategy,
            getattr(self, "gradient_accumulation_steps", 1),
        )
        if self.preprocessor is not None:
            x = self._preprocessed(
                x, y, sample_weight, batch_size, kwargs.pop("shuffle", True)
            )
            y = sample_weight = batch_size = None
            if validation_data is not None:
                validation_data = self._preprocessed(
                    *_unpack(validation_data), batch_size=None, shuffle=False
                )
        if length_buckets:
            x = _bucketed(x, y, sample_weight, batch_size)
            y = sample_weight = batch_size = None
        x = self._checked_data(x)
        if isinstance(validation_data, tf.data.Dataset):
            validation_data = self._checked_data(validation_data)
        self._size_pending_schedule(x, batch_size, epochs, steps_per_epoch)
        if isinstance(x, tf.data.Dataset):
            kwargs["shuffle"] = False  # a dataset shuffles itself
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if not any(isinstance(c, NaNGuard) for c in callbacks):
            callbacks.append(NaNGuard())
        if kwargs.get("verbose", "auto") != 0 and self._compiles_xla_step():
            callbacks.append(CompileNotice())
        return super().fit(
            x,
            y,
            sample_weight=sample_weight,
            batch_size=batch_size,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            validation_data=validation_data,
            callbacks=callbacks,
            **kwargs,
        )

    def _compiles_xla_step(self):
        """Whether the next fit compiles an XLA training step."""
        xla = self.jit_compile or getattr(self, "_xla_per_replica", False)
        return bool(xla) and self.train_function is None

    def evaluate(self, x=None, y=None, batch_size=None, **kwargs):
        # `fit` evaluates its validation data, already preprocessed there.
        from_fit = kwargs.get("_use_cached_eval_dataset", False)
        if self.preprocessor is not None and not from_fit:
            x = self._preprocessed(
                x, y, kwargs.pop("sample_weight", None), batch_size, False
            )
            y = batch_size = None
        return super().evaluate(
            self._checked_data(x), y, batch_size=batch_size, **kwargs
        )

    def predict(self, x, batch_size=None, **kwargs):
        if self.preprocessor is not None:
            x = self._preprocessed(x, None, None, batch_size, False)
            batch_size = None
        return super().predict(
            self._checked_data(x), batch_size=batch_size, **kwargs
        )

    def _preprocessed(self, x, y=None, sample_weight=None, batch_size=None,
                      shuffle=False):
        """Raw data to a dataset of model inputs, via the preprocessor.

        A `tf.data.Dataset` yields batches of raw data (or of model
        inputs, passed on as they are); other data (lists or arrays of
        strings, and labels) is batched here, keeping the last partial
        batch: nothing is dropped.
        """
        if isinstance(x, tf.data.Dataset):
            if self._yields_model_inputs(x):
                return x  # e.g. SpanCorruption.dataset's packed batches
            dataset = x
        else:
            if isinstance(x, tuple):
                x = {"text": x[0], "text_pair": x[1]}
            element = tuple(
                {key: _as_tensor(value) for key, value in item.items()}
                if isinstance(item, dict) else _as_tensor(item)
                for item in (x, y, sample_weight) if item is not None
            )
            if getattr(self.preprocessor, "changes_batch_size", False):
                # E.g. QA windows: preprocess the in-memory data once, so
                # the dataset of windows has a known size and shuffles.
                element = _preprocess_in_chunks(self.preprocessor, element)
            dataset = tf.data.Dataset.from_tensor_slices(element)
            if shuffle:
                dataset = dataset.shuffle(
                    int(dataset.cardinality()), reshuffle_each_iteration=True
                )
            dataset = dataset.ragged_batch(batch_size or 32)
            if getattr(self.preprocessor, "changes_batch_size", False):
                return dataset.prefetch(tf.data.AUTOTUNE)
        dataset = dataset.map(
            lambda *element: self.preprocessor(*element),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        if getattr(self.preprocessor, "changes_batch_size", False):
            # Re-batch so that every batch has the same size.
            dataset = dataset.unbatch().batch(batch_size or 32)
        return dataset.prefetch(tf.data.AUTOTUNE)

    def _yields_model_inputs(self, dataset):
        """Whether `dataset`'s elements are already the model's inputs (a
        dict holding every input key), not raw data for the preprocessor."""
        spec = dataset.element_spec
        features = spec[0] if isinstance(spec, tuple) else spec
        return isinstance(features, dict) and all(
            key in features for key in self.input_keys)

    def _checked_data(self, data):
        """Checks keys and token ids of dicts and datasets of inputs."""
        name = type(self).__name__
        vocabulary_size = self.backbone.vocabulary_size
        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            features = spec[0] if isinstance(spec, tuple) else spec
            input_checks.check_input_keys(name, features, self.input_keys)

            def check(*element):
                features = element[0]
                checks = input_checks.assert_token_ids_in_graph(
                    features["token_ids"], vocabulary_size
                )
                with tf.control_dependencies(checks):
                    features = dict(features)
                    features["token_ids"] = tf.identity(features["token_ids"])
                if len(element) > 1:
                    return (features,) + tuple(element[1:])
                return features

            return data.map(check, num_parallel_calls=tf.data.AUTOTUNE)
        if isinstance(data, dict):
            input_checks.check_input_keys(name, data, self.input_keys)
            input_checks.check_token_ids(
                name, data["token_ids"], vocabulary_size
            )
        return data

    def _size_pending_schedule(self, x, batch_size, epochs, steps_per_epoch):
        """Sizes the default schedule's warmup and decay on the first fit."""
        schedule = getattr(self, "_pending_schedule", None)
        if schedule is None:
            return
        self._pending_schedule = None
        steps = steps_per_epoch
        if steps is None and isinstance(x, tf.data.Dataset):
            cardinality = int(x.cardinality())
            steps = cardinality if cardinality > 0 else None
        elif steps is None and isinstance(x, dict):
            count = len(np.asarray(x["token_ids"]))
            steps = math.ceil(count / (batch_size or 32))
        if steps is None:
            print(
                f"{type(self).__name__}: the dataset size is unknown, so the "
                f"default learning rate stays constant at "
                f"{schedule.peak_learning_rate}. Pass steps_per_epoch to fit "
                f"for warmup and decay."
            )
            return
        total = steps * epochs
        schedule.total_steps = total
        schedule.warmup_steps = int(WARMUP_FRACTION * total)
        schedule.decay = "linear"

    # ------------------------------------------------------------ config --

    def get_config(self):
        config = {
            "backbone": keras.layers.serialize(self.backbone),
            "name": self.name,
            "trainable": self.trainable,
        }
        if self.preprocessor is not None:
            config["preprocessor"] = keras.layers.serialize(self.preprocessor)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.layers.deserialize(config["backbone"])
        if config.get("preprocessor") is not None:
            config["preprocessor"] = keras.layers.deserialize(
                config["preprocessor"]
            )
        return cls(**config)


class Task(TaskBase, keras.Model):
    """A functional Keras model: a backbone plus a task head, built from
    the backbone's inputs to the head's outputs (see `TaskBase`)."""


def apply_reduced_gradients(optimizer, gradients, variables):
    """Sums replicas' gradients, lets `optimizer` apply the sum, returns it.

    Keras' optimizers clip (and check loss-scaled gradients for overflow,
    and accumulate micro-batches) on each replica's own gradients and sum
    them only afterwards, so clipping by global norm under several
    replicas differs from one device. Here the sum comes first, and the
    optimizer's own sum is skipped while its update step is traced: every
    later stage sees the same global gradient one device would.
    """
    context = tf.distribute.get_replica_context()
    present = [index for index, g in enumerate(gradients) if g is not None]
    reduced = context.all_reduce(
        tf.distribute.ReduceOp.SUM, [gradients[i] for i in present]
    )
    gradients = list(gradients)
    for index, gradient in zip(present, reduced):
        gradients[index] = gradient
    base = getattr(optimizer, "inner_optimizer", optimizer)
    skip = _SkipOptimizerSum.installed_on(base)
    with skip:
        optimizer.apply(gradients, variables)
    return gradients


class _SkipOptimizerSum:
    """Makes an optimizer's gradient sum a no-op while inside `with`.

    Replicas trace their steps in parallel threads (and a loss-scale
    optimizer applies from yet other ones), so a count of the replicas
    inside says when to skip, rather than a flag any one of them resets.
    """

    def __init__(self, optimizer):
        self.inside = 0
        self.lock = threading.Lock()
        self.original = optimizer._all_reduce_sum_gradients

    @classmethod
    def installed_on(cls, optimizer):
        skip = vars(optimizer).get("_tfzoo_skip_sum")
        if skip is None:
            skip = cls(optimizer)
            # object's own setattr keeps Keras' attribute tracking out.
            object.__setattr__(optimizer, "_tfzoo_skip_sum", skip)
            object.__setattr__(
                optimizer, "_all_reduce_sum_gradients", skip.all_reduce
            )
        return skip

    def all_reduce(self, gradients_and_variables):
        if self.inside:
            return list(gradients_and_variables)
        return self.original(gradients_and_variables)

    def __enter__(self):
        with self.lock:
            self.inside += 1

    def __exit__(self, *exc_info):
        with self.lock:
            self.inside -= 1


def weighted_mean(values, sample_weight=None):
    """The mean of per-row `values`, weighted by `sample_weight` if given
    (0 when every weight is 0): how a `task_loss` honours row weights.

    >>> float(weighted_mean(tf.constant([1.0, 3.0]), tf.constant([1.0, 0.0])))
    1.0
    """
    if sample_weight is None:
        return tf.reduce_mean(values)
    weights = tf.cast(tf.reshape(sample_weight, tf.shape(values)),
                      values.dtype)
    return tf.math.divide_no_nan(tf.reduce_sum(values * weights),
                                 tf.reduce_sum(weights))


def _row_weights(sample_weight, real_rows, labels=None):
    """`sample_weight` times 0 on the rows that only fill a micro-batch.

    Without a `sample_weight`, the weights take the shape of `labels` when
    it is one tensor (a loss per token weighs each token, so that a loss
    averaged over weights averages over tokens as it would unweighted),
    else one weight per row.

    >>> real = tf.constant([True, False])
    >>> _row_weights(None, real).numpy()
    array([1., 0.], dtype=float32)
    >>> _row_weights(None, real, labels=tf.zeros([2, 3], "int32")).numpy()
    array([[1., 1., 1.],
           [0., 0., 0.]], dtype=float32)
    >>> _row_weights(tf.constant([0.5, 2.0]), real).numpy()
    array([0.5, 0. ], dtype=float32)
    """
    real = tf.cast(real_rows, "float32")
    if sample_weight is None:
        if not isinstance(labels, (tf.Tensor, np.ndarray)):
            return real
        sample_weight = tf.ones(tf.shape(labels), "float32")
    sample_weight = tf.cast(sample_weight, "float32")
    rank = sample_weight.shape.rank
    return sample_weight * tf.reshape(real, [-1] + [1] * (rank - 1))


def _bucketed(x, y, sample_weight, batch_size):
    """A dataset of batches cut to their length buckets."""
    if not isinstance(x, tf.data.Dataset):
        parts = tuple(part for part in (x, y, sample_weight)
                      if part is not None)
        x = tf.data.Dataset.from_tensor_slices(parts).batch(batch_size or 32)

    def cut(*element):
        cut_element = trim_to_length_bucket(*element)
        return cut_element if len(cut_element) > 1 else cut_element[0]

    return x.map(cut, num_parallel_calls=tf.data.AUTOTUNE)


def _as_tensor(values):
    """Lists of lists (e.g. words per sentence) become ragged tensors."""
    if isinstance(values, (list, tuple)) and values and isinstance(
        values[0], (list, tuple)
    ):
        return tf.ragged.constant(values)
    return values


def _preprocess_in_chunks(preprocessor, element, chunk_size=256):
    """Runs `preprocessor` eagerly over in-memory data, chunk by chunk."""
    dataset = tf.data.Dataset.from_tensor_slices(element)
    outputs = [
        preprocessor(*chunk) for chunk in dataset.ragged_batch(chunk_size)
    ]
    if not isinstance(outputs[0], tuple):
        outputs = [(output,) for output in outputs]
    return tuple(
        tf.nest.map_structure(lambda *parts: tf.concat(parts, 0), *column)
        for column in zip(*outputs)
    )


def _unpack(data):
    """`(x, y)` or `(x, y, sample_weight)` validation data as a triple."""
    if isinstance(data, tf.data.Dataset):
        return data, None, None
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    return x, y, sample_weight
