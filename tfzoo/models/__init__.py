"""Backbones and task models, one folder a family.

Every subpackage here that defines `__all__` is a model family
(`bert/`, `gpt/`, ...). Importing `tfzoo.models` imports each family,
which registers its checkpoint formats with `tfzoo.models.registry`, and
makes its public classes available here (`tfzoo.models.BertBackbone`).
So adding a family is adding a folder; see "How to add a model family"
in the README.

Dependencies run one way: layers -> models -> convert / export ->
recipes. Nothing here imports `tfzoo.convert` or `tfzoo.export`.
"""

import importlib
import pkgutil

from tfzoo import _backend  # noqa: F401  (Keras must run on TensorFlow)
from tfzoo.models.backbone import Backbone
from tfzoo.models.generative_task import GenerativeTask
from tfzoo.models.task import Task, TaskBase
from tfzoo.models.text_embedder import TextEmbedder

FAMILIES = []


def _import_families():
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"{__name__}.{module.name}")
        if hasattr(package, "__all__"):
            FAMILIES.append(module.name)
            for name in package.__all__:
                globals()[name] = getattr(package, name)


_import_families()
