"""Hugging Face `config.json` to tfzoo constructor arguments, and back.

Each model type's fields are in its family's checkpoint-format module
(`tfzoo/models/bert/hf_roberta.py`, ...), found through
`tfzoo.models.registry`.

Example:

>>> kwargs = backbone_kwargs({
...     "model_type": "roberta", "vocab_size": 50, "hidden_size": 8,
...     "num_hidden_layers": 1, "num_attention_heads": 2,
...     "intermediate_size": 16, "max_position_embeddings": 34,
...     "type_vocab_size": 1, "pad_token_id": 1})
>>> kwargs["position_offset"], kwargs["max_sequence_length"]
(2, 32)
"""

import json
import os

from tfzoo.models import registry
from tfzoo.models.hf_format.config_fields import (
    CONFIG_FILE,
    UnsupportedModelError,
)


def read_config(directory):
    """Reads `config.json` from a checkpoint directory."""
    path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No {CONFIG_FILE} in {directory}: a Hugging Face checkpoint "
            f"directory holds config.json and model.safetensors."
        )
    with open(path, encoding="utf-8") as file:
        try:
            config = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}.") from None
    config["_path"] = path
    return config


def model_type(config):
    """The supported `model_type` of a `config.json` dict."""
    supported = sorted(registry.checkpoint_formats())
    if "model_type" not in config:
        raise UnsupportedModelError(
            f"{config.get('_path', CONFIG_FILE)} has no 'model_type'; "
            f"supported: {supported}."
        )
    name = config["model_type"]
    if name not in supported:
        raise UnsupportedModelError(
            f"model_type {name!r} in {config.get('_path', CONFIG_FILE)} is "
            f"not supported; tfzoo converts {supported}."
        )
    return name


def backbone_kwargs(config):
    """Constructor arguments of the tfzoo backbone for `config`."""
    return registry.checkpoint_format(model_type(config)).backbone_kwargs(
        config
    )


def infer_model_type(backbone):
    """The Hugging Face model type a tfzoo backbone saves as."""
    return registry.format_of_backbone(backbone).MODEL_TYPE


def hf_config(backbone, model_type_name):
    """A `config.json` dict for `backbone` as `model_type_name`."""
    checkpoint_format = registry.checkpoint_format(model_type_name)
    if not isinstance(backbone, checkpoint_format.BACKBONE):
        raise UnsupportedModelError(
            f"A {type(backbone).__name__} cannot be saved as model_type "
            f"{model_type_name!r}, which is a "
            f"{checkpoint_format.BACKBONE.__name__}."
        )
    return {
        "model_type": model_type_name, "dtype": "float32",
        **checkpoint_format.hf_config(backbone),
    }
