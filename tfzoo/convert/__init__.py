"""Hugging Face checkpoint import and export.

`from_pretrained(path)` loads a `config.json` + `model.safetensors` (or
`pytorch_model.bin`, read without PyTorch and without running its pickle)
directory (or a hub id, when online) as the matching tfzoo model;
`save_pretrained(model, directory)` writes one that `transformers` loads.
`from_keras_hub(model_or_preset_dir)` converts a keras-hub model (or its
`save_to_preset` directory) with its tokenizer.
The model types are those the families register (see
`tfzoo.models.registry`): bert, roberta, distilbert, gpt2.

Importing this package registers `load_backbone`, `load_task` and
`save_pretrained` as the functions behind `Backbone.from_pretrained`,
`Task.from_pretrained` and their `save_pretrained` methods, so that
`tfzoo.models` never imports `tfzoo.convert`.
"""

from tfzoo.convert.checkpoint_location import (
    HubUnavailableError,
    resolve_checkpoint,
)
from tfzoo.convert.from_pretrained import (
    ConversionReport,
    ShapeMismatchError,
    UnexpectedTensorsError,
    from_pretrained,
    load_backbone,
    load_task,
    load_weights,
)
from tfzoo.convert.hf_config import UnsupportedModelError, read_config
from tfzoo.convert.hf_tokenizer import load_tokenizer, save_tokenizer
from tfzoo.convert.keras_hub_io import from_keras_hub
from tfzoo.convert.pytorch_io import (
    LegacyFormatError,
    PytorchCheckpoint,
    UnsafeCheckpointError,
    open_checkpoint,
)
from tfzoo.convert.safetensors_io import (
    CheckpointError,
    SafetensorsCheckpoint,
    write_checkpoint,
)
from tfzoo.convert.save_pretrained import save_pretrained
from tfzoo.models import registry

registry.register_pretrained_io(load_backbone, load_task, save_pretrained)
