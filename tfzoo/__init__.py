"""tfzoo: Transformer models for Keras 3 on TensorFlow.

>>> import tfzoo
>>> backbone = tfzoo.models.BertBackbone.from_preset("bert_tiny")
>>> backbone.num_layers
2

`import tfzoo` imports every subpackage, which registers every tfzoo class
with Keras, so `keras.saving.load_model` reads tfzoo models right after it.
It imports TensorFlow without its load-time log lines (see `tfzoo.logs`).

Command-line entry points that must answer `--help` before TensorFlow
loads (the recipes) set `TFZOO_LAZY_IMPORT=1` first: then `import tfzoo`
loads nothing heavy, the modules that need no TensorFlow (`tfzoo.presets`,
`tfzoo.logs`, `tfzoo.recipes.config`) import at once, and the first use
of a subpackage through `tfzoo.` loads them all.
"""

import importlib
import os

__version__ = "0.1.0"

_SUBPACKAGES = (
    "convert", "data", "export", "generation", "layers", "metrics",
    "models", "preprocessing", "tokenizers", "training",
)

# Functions of tfzoo.convert also offered as tfzoo.<name>.
_CONVERT_FUNCTIONS = ("from_pretrained", "from_keras_hub")


def _import_all():
    from tfzoo.logs import import_tensorflow

    import_tensorflow()  # quietly, unless TF_CPP_MIN_LOG_LEVEL says not
    for subpackage in _SUBPACKAGES:
        importlib.import_module(f"tfzoo.{subpackage}")
    for name in _CONVERT_FUNCTIONS:
        globals()[name] = getattr(globals()["convert"], name)


def __getattr__(name):
    """With TFZOO_LAZY_IMPORT=1: imports every subpackage on first use of
    one (PEP 562)."""
    if name not in _SUBPACKAGES and name not in _CONVERT_FUNCTIONS:
        raise AttributeError(f"module 'tfzoo' has no attribute {name!r}")
    _import_all()
    return globals()[name]


def __dir__():
    return sorted({*globals(), *_SUBPACKAGES, *_CONVERT_FUNCTIONS})


if os.environ.get("TFZOO_LAZY_IMPORT") != "1":
    _import_all()
