"""keras-hub models and presets to tfzoo models.

`from_keras_hub(model_or_preset_dir)` takes a keras-hub model object, or
a directory written by keras-hub's `save_to_preset`, and returns the
tfzoo model with the same weights and the same tokenizer, so that
`tfzoo.export.export_saved_model` serves it on raw text through TF
Serving. The families register which keras-hub classes they convert (see
`tfzoo.models.registry.register_keras_hub_format`): keras-hub's variables
are renamed to the family's Hugging Face tensor names and loaded through
the same weight map as a Hugging Face checkpoint.

keras-hub is an optional extra (`pip install tfzoo[keras-hub]`); it is
imported only when `from_keras_hub` is called.

Example (needs keras-hub; a tiny random BERT):

>>> import keras_hub  # doctest: +SKIP
>>> backbone = keras_hub.models.BertBackbone(  # doctest: +SKIP
...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
...     intermediate_dim=16)
>>> type(from_keras_hub(backbone)).__name__  # doctest: +SKIP
'BertBackbone'
"""

import inspect
import json
import os

import numpy as np

from tfzoo.models import registry
from tfzoo.models.hf_format.weight_groups import variable_path
from tfzoo.tokenizers import (
    BytePairTokenizer,
    SentencePieceTokenizer,
    WordPieceTokenizer,
)

INSTALL_HINT = "pip install tfzoo[keras-hub]"


def import_keras_hub():
    """keras_hub, or an ImportError that says how to install it."""
    try:
        import keras_hub
    except ImportError as error:
        raise ImportError(
            f"tfzoo.from_keras_hub needs keras-hub, which is not installed "
            f"({error}). Install it with `{INSTALL_HINT}`."
        ) from None
    return keras_hub


def _supported():
    return ", ".join(sorted(registry.keras_hub_formats()))


def load_preset(directory):
    """The keras-hub model saved in a `save_to_preset` directory: its
    task when it has `task.json`, else its backbone."""
    keras_hub = import_keras_hub()
    directory = os.fspath(directory)
    if not os.path.isfile(os.path.join(directory, "config.json")):
        raise FileNotFoundError(
            f"{directory} is not a keras-hub preset directory (it has no "
            f"config.json); pass a directory written by keras-hub's "
            f"save_to_preset, or the keras-hub model itself."
        )
    task_file = os.path.join(directory, "task.json")
    if not os.path.isfile(task_file):
        return keras_hub.models.Backbone.from_preset(directory)
    with open(task_file, encoding="utf-8") as file:
        task_config = json.load(file)
    name = task_config.get("class_name", "?")
    cls = getattr(keras_hub.models, name, None)
    if cls is None or name not in registry.keras_hub_formats():
        raise NotImplementedError(
            f"{directory} holds a keras-hub {name}; tfzoo.from_keras_hub "
            f"converts {_supported()}."
        )
    return cls.from_preset(directory)


def convert_tokenizer(tokenizer):
    """The tfzoo tokenizer equal to a keras-hub one (WordPiece,
    byte-level BPE or SentencePiece)."""
    keras_hub = import_keras_hub()
    kinds = keras_hub.tokenizers
    if isinstance(tokenizer, kinds.WordPieceTokenizer):
        vocabulary = tokenizer.get_vocabulary()
        special = [getattr(tokenizer, f"{role}_token", None) or default
                   for role, default in (
                       ("pad", "[PAD]"), ("oov", "[UNK]"), ("cls", "[CLS]"),
                       ("sep", "[SEP]"), ("mask", "[MASK]"))]
        return WordPieceTokenizer(
            vocabulary, lowercase=bool(tokenizer.lowercase),
            strip_accents=bool(tokenizer.strip_accents),
            special_tokens=special,
        )
    if isinstance(tokenizer, kinds.BytePairTokenizer):
        vocabulary = tokenizer.get_vocabulary()
        vocabulary = {token: index for index, token in enumerate(vocabulary)}
        special = [t for t in tokenizer.special_tokens if t in vocabulary]
        return BytePairTokenizer(
            vocabulary=vocabulary, merges=list(tokenizer.merges),
            add_prefix_space=bool(tokenizer.add_prefix_space),
            special_tokens=sorted(set(special)),
        )
    if isinstance(tokenizer, kinds.SentencePieceTokenizer):
        # keras-hub's vocabulary is the proto's pieces, sentinels included
        # only if the proto has them: tfzoo adds none (extra_ids=0).
        if tokenizer.proto is None:
            raise ValueError(
                "This keras-hub SentencePieceTokenizer has no proto yet."
            )
        return SentencePieceTokenizer(tokenizer.proto, extra_ids=0)
    raise NotImplementedError(
        f"tfzoo.from_keras_hub converts WordPiece, byte-level BPE and "
        f"SentencePiece tokenizers; this model has a "
        f"{type(tokenizer).__name__}."
    )


def _preprocessing_kwargs(cls, preprocessor):
    """The tfzoo task's `preprocessor=` or `tokenizer=` from a keras-hub
    preprocessor."""
    if preprocessor is None or getattr(preprocessor, "tokenizer", None) is None:
        return {}
    tokenizer = convert_tokenizer(preprocessor.tokenizer)
    parameters = inspect.signature(cls.__init__).parameters
    if "tokenizer" in parameters:
        return {"tokenizer": tokenizer}
    if cls.preprocessor_class is None:
        return {}
    truncate = getattr(preprocessor, "truncate", "round_robin")
    if truncate != "round_robin":
        raise NotImplementedError(
            f"The keras-hub preprocessor truncates with {truncate!r}; "
            f"tfzoo's packer truncates round_robin."
        )
    return {"preprocessor": cls.preprocessor_class(
        tokenizer, sequence_length=int(preprocessor.sequence_length))}


def load_tensors(model, checkpoint_format, tensors, source):
    """Assigns Hugging Face-named `tensors` to `model` through its
    checkpoint format's weight map; every tensor must be used and every
    weight of the model set (tied copies aside)."""
    weights = checkpoint_format.model_weights(model, "")
    unused = dict(tensors)
    missing = []
    for group in weights.groups:
        for spec in group.specs:
            if not all(n in unused for n in spec.hf_names):
                missing.append(variable_path(spec.variable))
                continue
            arrays = [unused.pop(n) for n in spec.hf_names]
            shapes = [tuple(a.shape) for a in arrays]
            if shapes != [tuple(s) for s in spec.hf_shapes]:
                raise ValueError(
                    f"{source}: {spec.hf_names} have shapes {shapes}; "
                    f"{variable_path(spec.variable)} needs "
                    f"{[list(s) for s in spec.hf_shapes]}."
                )
            value = np.asarray(spec.to_keras(arrays),
                               dtype=spec.variable.dtype)
            spec.variable.assign(value)
    if missing or unused:
        raise ValueError(
            f"{source} does not match {type(model).__name__}: it lacks "
            f"weights for {missing or 'nothing'} and has no place for "
            f"{sorted(unused) or 'nothing'}."
        )


def from_keras_hub(model_or_preset_dir, dtype=None):
    """A keras-hub model (or `save_to_preset` directory) as a tfzoo model.

    Converts `BertBackbone` -> `tfzoo.models.BertBackbone`,
    `BertTextClassifier` -> `BertClassifier` (with a
    `BertClassifierPreprocessor` around the same WordPiece vocabulary,
    casing and sequence length), `GPT2Backbone` -> `GPTBackbone` and
    `GPT2CausalLM` -> `GPTCausalLM` (with the same byte-level BPE
    tokenizer), `T5Backbone` -> `T5Backbone` and `T5Seq2SeqLM` ->
    `T5Seq2SeqLM` (with the same SentencePiece model). Outputs equal keras-hub's on the same token ids, and the
    converted tokenizer gives the same ids on the same text, so a
    converted task exports with `tfzoo.export.export_saved_model` and
    serves raw text.

    Args:
        model_or_preset_dir: a keras-hub model, or the path of a directory
            written by its `save_to_preset`.
        dtype: the tfzoo model's dtype policy (default: keras-hub's
            backbone's).
    """
    keras_hub = import_keras_hub()
    if isinstance(model_or_preset_dir, (str, os.PathLike)):
        source = os.fspath(model_or_preset_dir)
        model = load_preset(source)
    else:
        model = model_or_preset_dir
        source = f"the keras-hub {type(model).__name__}"
    name = type(model).__name__
    family = registry.keras_hub_formats().get(name)
    if family is None or not isinstance(
            model, (keras_hub.models.Backbone, keras_hub.models.Task)):
        raise NotImplementedError(
            f"tfzoo.from_keras_hub cannot convert a {name}; it converts "
            f"keras-hub {_supported()} (models or save_to_preset "
            f"directories)."
        )
    keras_hub_backbone = getattr(model, "backbone", model)
    if dtype is None:
        dtype = keras_hub_backbone.dtype_policy.name
    backbone_class = family.CHECKPOINT_FORMAT.BACKBONE
    backbone = backbone_class(
        **family.backbone_kwargs(keras_hub_backbone.get_config()),
        dtype=dtype,
    )
    cls = family.KERAS_HUB_CLASSES[name]
    if cls is backbone_class:
        converted = backbone
    else:
        converted = cls(
            backbone=backbone,
            **family.task_kwargs(model.get_config()),
            **_preprocessing_kwargs(cls, getattr(model, "preprocessor", None)),
        )
    if hasattr(family, "hf_tensors_of"):
        tensors = family.hf_tensors_of(model)
    else:
        arrays = {weight.path: np.asarray(weight.numpy())
                  for weight in model.weights}
        tensors = family.hf_tensors(arrays)
    load_tensors(converted, family.CHECKPOINT_FORMAT, tensors, source)
    return converted
