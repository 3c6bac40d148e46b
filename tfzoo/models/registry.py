"""Where model families register themselves, and where the rest looks.

Each family folder under `tfzoo/models/` registers, in its `__init__`:

- its Hugging Face checkpoint formats, one module per `model_type`
  (`register_checkpoint_format`). `tfzoo.convert` reads and writes
  checkpoints through them.
- its keras-hub counterparts, one module per keras-hub family
  (`register_keras_hub_format`): `tfzoo.from_keras_hub` renames a
  keras-hub model's variables to the Hugging Face tensor names of the
  family's checkpoint format and loads them through that format.

Tasks say which serving signatures they get with their `serving_kind`
class attribute; `tfzoo.export` looks that up, so a new family's tasks
need no change there.

Dependencies run one way (layers -> models -> convert / export ->
recipes): this module imports nothing from `convert` or `export`. The one
call that goes the other way, `Backbone.from_pretrained` and friends, goes
through `pretrained_io()`, which `tfzoo.convert` fills when it is imported
(`import tfzoo` imports it).

A checkpoint-format module defines:

- `MODEL_TYPE`: the `model_type` of `config.json`.
- `BACKBONE`: the tfzoo backbone class it loads into.
- `ARCHITECTURES`: Hugging Face architecture name -> tfzoo class.
- `BASE_PREFIX`, `HEAD_PREFIXES`, `IGNORED_SUFFIXES`: tensor name parts.
- `TOKENIZER_CLASS`, `SPECIAL_TOKENS` (role -> token, written to and
  read from the tokenizer files), `SPECIAL_TOKEN_IDS` (config key -> token).
- `backbone_kwargs(config)`, `hf_config(backbone)`: config.json <-> the
  backbone's constructor arguments.
- `describes(backbone)`: whether the backbone saves as this type.
- `model_weights(model, prefix)`: the model as `ModelWeights`.

Example:

>>> import tfzoo
>>> checkpoint_format("gpt2").BACKBONE.__name__
'GPTBackbone'
>>> sorted(checkpoint_formats())
['bert', 'distilbert', 'gpt2', 'mt5', 'roberta', 't5']
"""

from tfzoo.models.hf_format.config_fields import UnsupportedModelError

_CHECKPOINT_FORMATS = {}
_PRETRAINED_IO = {}

FORMAT_ATTRIBUTES = (
    "MODEL_TYPE", "BACKBONE", "ARCHITECTURES", "BASE_PREFIX",
    "HEAD_PREFIXES", "IGNORED_SUFFIXES", "TOKENIZER_CLASS", "SPECIAL_TOKENS",
    "SPECIAL_TOKEN_IDS", "backbone_kwargs", "hf_config", "describes",
    "model_weights",
)


def register_checkpoint_format(module):
    """Registers a family's module for one Hugging Face `model_type`."""
    missing = [a for a in FORMAT_ATTRIBUTES if not hasattr(module, a)]
    if missing:
        raise TypeError(
            f"{module.__name__} is not a checkpoint format: it lacks "
            f"{missing} (see tfzoo.models.registry)."
        )
    _CHECKPOINT_FORMATS[module.MODEL_TYPE] = module
    return module


def checkpoint_formats():
    """model_type -> checkpoint-format module, for every registered type."""
    return dict(_CHECKPOINT_FORMATS)


def checkpoint_format(model_type):
    """The checkpoint-format module of `model_type`."""
    if model_type not in _CHECKPOINT_FORMATS:
        raise UnsupportedModelError(
            f"model_type {model_type!r} is not supported; tfzoo converts "
            f"{sorted(_CHECKPOINT_FORMATS)}."
        )
    return _CHECKPOINT_FORMATS[model_type]


def format_of_backbone(backbone):
    """The checkpoint format a backbone saves as by default."""
    for module in _CHECKPOINT_FORMATS.values():
        if isinstance(backbone, module.BACKBONE) and module.describes(backbone):
            return module
    raise UnsupportedModelError(
        f"No Hugging Face model type describes this "
        f"{type(backbone).__name__}; pass model_type= one of "
        f"{sorted(_CHECKPOINT_FORMATS)}."
    )


KERAS_HUB_ATTRIBUTES = (
    "KERAS_HUB_CLASSES", "CHECKPOINT_FORMAT", "backbone_kwargs",
    "task_kwargs", "hf_tensors",
)
_KERAS_HUB_FORMATS = {}


def register_keras_hub_format(module):
    """Registers a family's keras-hub module. It defines:

    - `KERAS_HUB_CLASSES`: keras-hub class name -> tfzoo class.
    - `CHECKPOINT_FORMAT`: the checkpoint-format module whose tensor
      names `hf_tensors` produces (and whose `model_weights` loads them).
    - `backbone_kwargs(config)`: the tfzoo backbone's arguments from the
      keras-hub backbone's `get_config()`.
    - `task_kwargs(config)`: the tfzoo task's arguments (without backbone
      and preprocessing) from the keras-hub task's `get_config()`.
    - `hf_tensors(arrays)`: keras-hub variable path -> array, to
      Hugging Face tensor name -> array (names without a base prefix);
      or, where keras-hub's variable paths are not unique (T5),
      `hf_tensors_of(model)`: the same from the keras-hub model's layers.
    """
    missing = [a for a in KERAS_HUB_ATTRIBUTES if not hasattr(module, a)
               and not (a == "hf_tensors" and hasattr(module, "hf_tensors_of"))]
    if missing:
        raise TypeError(
            f"{module.__name__} is not a keras-hub format: it lacks "
            f"{missing} (see tfzoo.models.registry)."
        )
    for name in module.KERAS_HUB_CLASSES:
        _KERAS_HUB_FORMATS[name] = module
    return module


def keras_hub_formats():
    """keras-hub class name -> the family module that converts it."""
    return dict(_KERAS_HUB_FORMATS)


def register_pretrained_io(load_backbone, load_task, save_pretrained):
    """Called by `tfzoo.convert`: the functions behind `from_pretrained`
    and `save_pretrained` on backbones and tasks."""
    _PRETRAINED_IO.update(
        load_backbone=load_backbone, load_task=load_task,
        save_pretrained=save_pretrained,
    )


def pretrained_io(name):
    """One of the functions `tfzoo.convert` registered."""
    if name not in _PRETRAINED_IO:
        raise RuntimeError(
            f"Hugging Face checkpoints need tfzoo.convert: `import tfzoo` "
            f"(without TFZOO_LAZY_IMPORT=1) or `import tfzoo.convert` before "
            f"from_pretrained or save_pretrained."
        )
    return _PRETRAINED_IO[name]
