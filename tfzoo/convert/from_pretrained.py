"""Loading Hugging Face checkpoints into tfzoo models.

`from_pretrained(path)` reads `config.json`, builds the tfzoo model for
its `model_type` and `architectures` (a backbone, or the task whose head
the checkpoint has) and copies every tensor in, one at a time, from the
memory-mapped safetensors files (or `pytorch_model.bin`, read without
PyTorch by `pytorch_io`, when there are none), with a progress bar. The
classmethods `BertBackbone.from_pretrained`,
`BertClassifier.from_pretrained`, ... call `load_backbone` and
`load_task` below.

Every checkpoint tensor is either loaded, a known duplicate (a tied
decoder, checked equal) or a known buffer, or it is reported: tensors of
another task's head are listed in a warning; anything else is an error
(`strict=False` turns it into a warning). Heads the checkpoint lacks start
from fresh weights, and a warning lists them.

Example (a tiny checkpoint written by tfzoo itself):

>>> import tempfile
>>> from tfzoo.models import BertBackbone
>>> backbone = BertBackbone(vocabulary_size=30, num_layers=1, num_heads=2,
...                         hidden_dim=8, intermediate_dim=16)
>>> directory = tempfile.mkdtemp()
>>> backbone.save_pretrained(directory, progress=False)
>>> loaded = BertBackbone.from_pretrained(directory, progress=False)
>>> loaded.conversion_report.loaded_tensors
23
"""

import dataclasses
import inspect
import logging
import os

import numpy as np
from tqdm.auto import tqdm

from tfzoo.convert.checkpoint_location import resolve_checkpoint
from tfzoo.convert.hf_config import backbone_kwargs, model_type, read_config
from tfzoo.convert.hf_tokenizer import load_tokenizer
from tfzoo.convert import sentence_transformers_layout
from tfzoo.convert.pytorch_io import open_checkpoint
from tfzoo.convert.safetensors_io import CheckpointError
from tfzoo.models import registry
from tfzoo.models.text_embedder import TextEmbedder
from tfzoo.models.hf_format.weight_groups import variable_path
from tfzoo.preprocessing.preprocessor import Preprocessor

logger = logging.getLogger("tfzoo.convert")


class ShapeMismatchError(CheckpointError):
    """A checkpoint tensor's shape differs from the model's."""


class UnexpectedTensorsError(CheckpointError):
    """The checkpoint holds tensors no part of the model explains."""


@dataclasses.dataclass
class ConversionReport:
    """What `from_pretrained` did with a checkpoint."""

    checkpoint: str
    architecture: str
    loaded_tensors: int = 0
    fresh_groups: list = dataclasses.field(default_factory=list)
    unused_tensors: list = dataclasses.field(default_factory=list)
    unexpected_tensors: list = dataclasses.field(default_factory=list)
    # (checkpoint tensor, its shape, the model's shape) of heads started
    # fresh by ignore_mismatched_sizes=True.
    mismatched_tensors: list = dataclasses.field(default_factory=list)


def _listing(names, limit=12):
    names = sorted(names)
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names)} in all)"
    return shown


def load_weights(model, directory, config, strict=True, progress=True,
                 ignore_mismatched_sizes=False):
    """Copies the checkpoint in `directory` into `model`.

    A head (e.g. the classifier) whose checkpoint tensors have other
    shapes than the model's (another `num_classes`) is an error, unless
    `ignore_mismatched_sizes=True`: then it starts fresh, with a warning
    naming the tensors and both shapes. The encoder must always fit.

    Returns a `ConversionReport`, also set as `model.conversion_report`.
    """
    checkpoint_format = registry.checkpoint_format(model_type(config))
    checkpoint_architectures = config.get("architectures") or []
    with open_checkpoint(directory) as checkpoint:
        names = set(checkpoint.keys())
        prefix = checkpoint_format.BASE_PREFIX if any(
            n.startswith(checkpoint_format.BASE_PREFIX) for n in names
        ) else ""
        weights = checkpoint_format.model_weights(model, prefix)
        report = ConversionReport(checkpoint.description, weights.architecture)
        # Classifier heads are taken only from a checkpoint saved with the
        # same head (a token classifier's `classifier` is not a sentence
        # classifier's).
        same_head = (
            not checkpoint_architectures
            or weights.architecture in checkpoint_architectures
        )
        to_load, fresh = [], []
        for group in weights.groups:
            group_names = [n for s in group.specs for n in s.hf_names]
            present = [n for n in group_names if n in names]
            if present and (same_head or not group.same_architecture_only):
                if len(present) < len(group_names):
                    missing = [n for n in group_names if n not in names]
                    raise CheckpointError(
                        f"The checkpoint {checkpoint.description} has only "
                        f"part of the {group.name}: it lacks "
                        f"{_listing(missing)}."
                    )
                to_load.append(group)
            elif group.required:
                missing = [n for n in group_names if n not in names]
                raise CheckpointError(
                    f"The checkpoint {checkpoint.description} lacks "
                    f"{len(missing)} tensors of the {group.name} "
                    f"({_listing(missing)}). Is it a {model_type(config)} "
                    f"checkpoint of the same size as its config.json?"
                )
            else:
                fresh.append(group)
        mismatched, resized = [], []
        for group in list(to_load):
            wrong = [
                (name, checkpoint.shape(name), tuple(expected), spec)
                for spec in group.specs
                for name, expected in zip(spec.hf_names, spec.hf_shapes)
                if checkpoint.shape(name) != tuple(expected)
            ]
            if not wrong:
                continue
            if ignore_mismatched_sizes and not group.required:
                # As in transformers, only the tensors that do not fit
                # start fresh (RoBERTa keeps its classifier.dense).
                resized.append(group)
                mismatched += [(n, a, e, spec) for n, a, e, spec in wrong]
                continue
            name, actual, expected, spec = wrong[0]
            if group.required:
                cause = (
                    "config.json and the weights disagree (or the "
                    "checkpoint is another model's)."
                )
            else:
                cause = (
                    f"A task argument (e.g. num_classes or label_names) differs "
                    f"from the checkpoint's {group.name}; pass "
                    f"ignore_mismatched_sizes=True to start the "
                    f"{group.name} fresh at the new size."
                )
            raise ShapeMismatchError(
                f"Tensor {name!r} in {checkpoint.where(name)} has shape "
                f"{list(actual)}, but the tfzoo model built from "
                f"{config.get('_path', 'config.json')} needs "
                f"{list(expected)} (for {variable_path(spec.variable)} "
                f"{list(spec.shape)}). {cause}"
            )
        skipped = {id(m[3]) for m in mismatched}
        specs = [spec for group in to_load for spec in group.specs
                 if id(spec) not in skipped]
        tied = [(n, v) for n, v in weights.tied if n in names]
        used = {n for spec in specs for n in spec.hf_names}
        # A spec partly mismatched is skipped whole; its names are not
        # "unused" (they are reported as mismatched).
        mismatched_names = {n for m in mismatched for n in m[3].hf_names}
        used.update(n for n, _ in tied)
        leftover = {
            n for n in names - used - mismatched_names
            if not n.endswith(checkpoint_format.IGNORED_SUFFIXES)
        }
        unused = sorted(
            n for n in leftover
            if n.startswith(checkpoint_format.HEAD_PREFIXES)
            or n.startswith(f"{prefix}pooler.")
        )
        unexpected = sorted(leftover - set(unused))
        cls_name = type(model).__name__
        if unexpected:
            message = (
                f"The checkpoint {report.checkpoint} holds "
                f"{len(unexpected)} tensors that no part of {cls_name} "
                f"({report.architecture}) uses and that tfzoo does not "
                f"know: {_listing(unexpected)}."
            )
            if strict:
                raise UnexpectedTensorsError(
                    message + " Pass strict=False to load the rest anyway."
                )
            logger.warning(message)

        for spec in tqdm(
            specs, desc=f"Loading {weights.architecture}", unit="tensor",
            disable=not progress, leave=False,
        ):
            arrays = [checkpoint.get(name) for name in spec.hf_names]
            value = spec.to_keras(arrays)
            spec.variable.assign(np.asarray(value, dtype=spec.variable.dtype))
            del arrays, value
        fresh_variables = {
            id(s.variable) for group in fresh for s in group.specs
        } | {id(m[3].variable) for m in mismatched}
        for name, variable in tied:
            if id(variable) in fresh_variables:
                continue
            if not np.allclose(checkpoint.get(name), variable.numpy()):
                raise CheckpointError(
                    f"Tensor {name!r} in {checkpoint.where(name)} differs "
                    f"from {variable_path(variable)}, to which tfzoo ties "
                    f"it; untied output layers are not supported."
                )
    report.loaded_tensors = len(used)
    report.unused_tensors = unused
    report.unexpected_tensors = unexpected
    report.fresh_groups = [g.name for g in fresh if g.announce] + [
        g.name for g in resized]
    report.mismatched_tensors = [(n, list(a), list(e))
                                 for n, a, e, _ in mismatched]
    if unused:
        logger.warning(
            "%s: %d tensors of the checkpoint (a %s) are not used: %s.",
            cls_name, len(unused), "/".join(checkpoint_architectures)
            or "checkpoint", _listing(unused),
        )
    for group in resized:
        names = {h for spec in group.specs for h in spec.hf_names}
        logger.warning(
            "%s: tensors of the %s in %s have other shapes than the "
            "model's and start from fresh random weights "
            "(ignore_mismatched_sizes=True): %s; train them before use.",
            cls_name, group.name, report.checkpoint, "; ".join(
                f"{n} {list(a)} in the checkpoint, {list(e)} in the model"
                for n, a, e, _ in mismatched if n in names
            ),
        )
    for group in fresh:
        if group.announce:
            logger.warning(
                "%s: the %s is not in %s and starts from fresh random "
                "weights (%s); train it before use.",
                cls_name, group.name, report.checkpoint,
                _listing({variable_path(s.variable) for s in group.specs}),
            )
    model.conversion_report = report
    return report


def _backbone(checkpoint_format, config, dtype):
    kwargs = backbone_kwargs(config)
    if dtype is not None:
        kwargs["dtype"] = dtype
    return checkpoint_format.BACKBONE(**kwargs)


def _check_family(cls, checkpoint_format, config):
    expected = checkpoint_format.BACKBONE
    actual = getattr(cls, "backbone_class", None) or cls
    if not issubclass(expected, actual) and not issubclass(actual, expected):
        raise ValueError(
            f"{config['_path']} is a {config['model_type']!r} checkpoint; "
            f"load it with {expected.__name__} (or tfzoo.from_pretrained), "
            f"not {cls.__name__}."
        )


def load_backbone(cls, path, dtype=None, strict=True, progress=True,
                  ignore_mismatched_sizes=False):
    """`cls.from_pretrained`: a backbone with the checkpoint's weights."""
    directory = resolve_checkpoint(path)
    config = read_config(directory)
    checkpoint_format = registry.checkpoint_format(model_type(config))
    _check_family(cls, checkpoint_format, config)
    backbone = _backbone(checkpoint_format, config, dtype)
    load_weights(backbone, directory, config, strict, progress,
                 ignore_mismatched_sizes)
    return backbone


def _label_names(config):
    """The checkpoint's label names, or None for transformers' defaults."""
    id2label = config.get("id2label") or {}
    names = [id2label.get(str(i), id2label.get(i))
             for i in range(len(id2label))]
    if not names or None in names:
        return None
    if names == [f"LABEL_{i}" for i in range(len(names))]:
        return None
    return names


def load_task(cls, path, dtype=None, strict=True, progress=True,
              preprocessor=None, sequence_length=None, label_names=None,
              ignore_mismatched_sizes=False, **task_kwargs):
    """`cls.from_pretrained` for a task model.

    The task's head comes from the checkpoint when it has one of the same
    kind (then `num_classes` defaults to the checkpoint's label count),
    else it starts fresh. A `num_classes` (or `label_names`) of another
    count than the checkpoint's head is an error, unless
    `ignore_mismatched_sizes=True`: then the head starts fresh, with a
    warning. With `sequence_length`, the task gets its default
    preprocessor around the checkpoint's tokenizer (and `label_names`,
    defaulting to the checkpoint's when their count fits).
    """
    if issubclass(cls, TextEmbedder):
        return load_text_embedder(
            cls, path, dtype, strict, progress, preprocessor,
            sequence_length, **task_kwargs,
        )
    directory = resolve_checkpoint(path)
    config = read_config(directory)
    checkpoint_format = registry.checkpoint_format(model_type(config))
    _check_family(cls, checkpoint_format, config)
    parameters = inspect.signature(cls.__init__).parameters
    checkpoint_labels = None
    if "num_classes" in parameters:
        if label_names is not None:
            task_kwargs.setdefault("num_classes", len(label_names))
        if _has_classification_head(cls, config):
            checkpoint_labels = _label_names(config)
            # transformers 5 leaves its default (2 labels) out of
            # config.json.
            count = len(config.get("id2label") or {}) or config.get(
                "num_labels") or 2
            task_kwargs.setdefault("num_classes", int(count))
    if "tokenizer" in parameters and "tokenizer" not in task_kwargs:
        task_kwargs["tokenizer"] = _tokenizer_if_any(directory)
    backbone = _backbone(checkpoint_format, config, dtype)
    if dtype is not None:
        task_kwargs["dtype"] = dtype
    model = cls(backbone=backbone, **task_kwargs)
    load_weights(model, directory, config, strict, progress,
                 ignore_mismatched_sizes)
    if checkpoint_labels is not None and len(checkpoint_labels) != (
            task_kwargs.get("num_classes")):
        checkpoint_labels = None  # the head was replaced
    if preprocessor is None and sequence_length is not None:
        preprocessor = default_preprocessor(
            cls, directory, sequence_length,
            label_names if label_names is not None else checkpoint_labels,
        )
    if preprocessor is not None:
        model.preprocessor = preprocessor
    return model


def load_text_embedder(cls, path, dtype=None, strict=True, progress=True,
                       preprocessor=None, sequence_length=None,
                       **task_kwargs):
    """`TextEmbedder.from_pretrained`: a sentence-transformers directory
    (its pooling, projection, normalisation and max_seq_length), or a bare
    Hugging Face encoder (the `TextEmbedder` defaults: mean pooling,
    normalised). The preprocessor comes with it, around the checkpoint's
    tokenizer: no other argument is needed."""
    directory = resolve_checkpoint(path)
    layout = None
    transformer = directory
    if sentence_transformers_layout.has_layout(directory):
        layout = sentence_transformers_layout.read_layout(directory)
        transformer = os.path.join(directory, layout.transformer_path)
    config = read_config(transformer)
    checkpoint_format = registry.checkpoint_format(model_type(config))
    backbone_class = cls.backbone_class or checkpoint_format.BACKBONE
    backbone = load_backbone(backbone_class, transformer, dtype, strict,
                             progress)
    if preprocessor is None:
        sequence_length = (
            sequence_length or (layout and layout.max_seq_length)
            or backbone.max_sequence_length
        )
        preprocessor = cls.preprocessor_class(
            load_tokenizer(transformer), sequence_length=min(
                int(sequence_length), backbone.max_sequence_length
            )
        )
    kwargs = dict(layout.task_kwargs) if layout else {}
    kwargs.update(task_kwargs)
    if dtype is not None:
        kwargs["dtype"] = dtype
    model = cls(backbone=backbone, preprocessor=preprocessor, **kwargs)
    if layout is not None and layout.dense_path is not None:
        if model.projection is None:
            raise ValueError(
                f"{layout.dense_path} is a Dense projection; do not pass "
                f"projection_dim=None when loading this directory."
            )
        model.build()
        kernel, bias = sentence_transformers_layout.read_dense_weights(
            layout.dense_path
        )
        model.projection.set_weights([kernel, bias])
    return model


def _tokenizer_if_any(directory):
    """The checkpoint's tokenizer, or None when it has no tokenizer files."""
    try:
        return load_tokenizer(directory)
    except FileNotFoundError:
        return None


def _has_classification_head(cls, config):
    """Whether the checkpoint's architecture has `cls`'s kind of head."""
    suffix = ("ForTokenClassification"
              if cls.__name__.endswith("TokenClassifier")
              else "ForSequenceClassification")
    return any(architecture.endswith(suffix)
               for architecture in config.get("architectures") or [])


def default_preprocessor(cls, directory, sequence_length, label_names=None):
    """The task's preprocessor around the checkpoint's tokenizer."""
    preprocessor_class = cls.preprocessor_class
    if preprocessor_class is None:
        raise ValueError(
            f"tfzoo has no preprocessor for {cls.__name__}; build one and "
            f"pass it as preprocessor=."
        )
    name = preprocessor_class.__name__
    kwargs = {"sequence_length": sequence_length}
    if "label_names" in inspect.signature(preprocessor_class).parameters:
        kwargs["label_names"] = label_names
    tokenizer = load_tokenizer(directory)
    if not issubclass(preprocessor_class, Preprocessor):
        return preprocessor_class(tokenizer, **kwargs)
    if tokenizer.packing is None:
        raise NotImplementedError(
            f"{name} packs segments between the model's start and end "
            f"tokens; the checkpoint's {type(tokenizer).__name__} has none. "
            f"Leave out sequence_length and feed token ids."
        )
    # The token classifier and question answerer preprocessors refuse
    # tokenizers other than WordPiece themselves (they map words and
    # character offsets to tokens).
    return preprocessor_class(tokenizer, **kwargs)


def model_class(checkpoint_format, architectures):
    """The tfzoo class for a checkpoint: its task when tfzoo has the
    checkpoint's architecture, else the backbone."""
    for architecture in architectures or ():
        if architecture in checkpoint_format.ARCHITECTURES:
            return checkpoint_format.ARCHITECTURES[architecture]
    return checkpoint_format.BACKBONE


def from_pretrained(path, dtype=None, strict=True, progress=True, **kwargs):
    """Loads a checkpoint as the tfzoo model that matches it.

    Dispatches on `config.json`: `model_type` picks the family (`bert`,
    `roberta`, `distilbert`: `BertBackbone` and the BERT tasks; `gpt2`:
    the GPT models) and `architectures` the task (e.g.
    `BertForSequenceClassification` gives a `BertClassifier`); a bare
    encoder gives the backbone, and a sentence-transformers directory
    (`modules.json`) a `TextEmbedder`. Keyword arguments go to the task's
    `from_pretrained`.
    """
    directory = resolve_checkpoint(path)
    if sentence_transformers_layout.has_layout(directory):
        return TextEmbedder.from_pretrained(
            directory, dtype=dtype, strict=strict, progress=progress,
            **kwargs
        )
    config = read_config(directory)
    cls = model_class(
        registry.checkpoint_format(model_type(config)),
        config.get("architectures"),
    )
    return cls.from_pretrained(
        directory, dtype=dtype, strict=strict, progress=progress, **kwargs
    )
