"""tfzoo: Transformer models for Keras 3 on TensorFlow.

>>> import tfzoo
>>> backbone = tfzoo.models.BertBackbone.from_preset("bert_tiny")
>>> backbone.num_layers
2

`import tfzoo` loads no TensorFlow, so the modules that need none
(`tfzoo.presets`, `tfzoo.logs`, `tfzoo.recipes.config`) answer at once: a
recipe's `--help` does not wait for TensorFlow. The first use of a
subpackage through `tfzoo.` (`tfzoo.models`, `tfzoo.from_pretrained`...)
loads them all, which registers every tfzoo class with Keras: do that
(or import the subpackages you use) before `keras.saving.load_model`
reads a tfzoo model.
"""

import importlib

__version__ = "0.1.0"

_SUBPACKAGES = (
    "convert", "data", "export", "generation", "layers", "metrics",
    "models", "preprocessing", "tokenizers", "training",
)


def __getattr__(name):
    """Imports every subpackage on first use of one (PEP 562)."""
    if name not in _SUBPACKAGES and name != "from_pretrained":
        raise AttributeError(f"module 'tfzoo' has no attribute {name!r}")
    for subpackage in _SUBPACKAGES:
        importlib.import_module(f"tfzoo.{subpackage}")
    globals()["from_pretrained"] = globals()["convert"].from_pretrained
    return globals()[name]


def __dir__():
    return sorted({*globals(), *_SUBPACKAGES, "from_pretrained"})
