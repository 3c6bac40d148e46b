"""The sentence-transformers directory layout, read and written.

A sentence-transformers model directory lists its modules in
`modules.json`: a `Transformer` (a Hugging Face checkpoint, at the root or
in `0_Transformer/`), a `Pooling` (`1_Pooling/config.json`), optionally a
`Dense` projection (`2_Dense/`: `config.json` and `linear.weight`,
`linear.bias`) and a `Normalize`. `sentence_bert_config.json` holds the
`max_seq_length`. `read_layout` turns that into `TextEmbedder` arguments;
`write_layout` writes the files for a `TextEmbedder` whose backbone is
saved at the directory's root.

Example:

>>> import json, os, tempfile
>>> directory = tempfile.mkdtemp()
>>> write_layout(directory, pooling="cls", normalize=True,
...              max_seq_length=128, hidden_dim=8)
>>> layout = read_layout(directory)
>>> layout.task_kwargs, layout.max_seq_length, layout.transformer_path
({'normalize': True, 'pooling': 'cls'}, 128, '')
"""

import dataclasses
import json
import os

from tfzoo.convert.pytorch_io import open_checkpoint
from tfzoo.convert.safetensors_io import write_checkpoint
from tfzoo.models.hf_format.config_fields import UnsupportedModelError

MODULES_FILE = "modules.json"
MODULE_TYPES = {
    "Transformer": "sentence_transformers.models.Transformer",
    "Pooling": "sentence_transformers.models.Pooling",
    "Dense": "sentence_transformers.models.Dense",
    "Normalize": "sentence_transformers.models.Normalize",
}
POOLING_FLAGS = {
    "cls": "pooling_mode_cls_token",
    "mean": "pooling_mode_mean_tokens",
    "max": "pooling_mode_max_tokens",
}
UNSUPPORTED_POOLING_FLAGS = (
    "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
    "pooling_mode_lasttoken",
)
ACTIVATIONS = {
    "torch.nn.modules.activation.Tanh": "tanh",
    "torch.nn.modules.linear.Identity": None,
}


@dataclasses.dataclass
class Layout:
    """What a sentence-transformers directory says about its model."""

    transformer_path: str
    task_kwargs: dict
    max_seq_length: int = None
    dense_path: str = None  # the Dense module's directory, if any


def has_layout(directory):
    return os.path.isfile(os.path.join(directory, MODULES_FILE))


def _read_json(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} is missing; a sentence-transformers directory that "
            f"lists this module in {MODULES_FILE} has it."
        )
    with open(path, encoding="utf-8") as file:
        try:
            return json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}.") from None


def _module_kind(entry, modules_path):
    # sentence-transformers 6 names its modules by their new homes
    # ("sentence_transformers.base.modules.dense.Dense"): match the class.
    class_name = str(entry.get("type")).rsplit(".", 1)[-1]
    if class_name in MODULE_TYPES and str(entry.get("type")).startswith(
        "sentence_transformers."
    ):
        return class_name
    raise UnsupportedModelError(
        f"{modules_path} lists a module of type {entry.get('type')!r}; "
        f"tfzoo reads {sorted(MODULE_TYPES.values())}."
    )


def _pooling(config, path):
    """The one pooling mode of a Pooling config: `pooling_mode` (a name,
    or a list of one; sentence-transformers 6) or the older
    `pooling_mode_*_tokens` flags."""
    if "pooling_mode" in config:
        modes = config["pooling_mode"]
        modes = [modes] if isinstance(modes, str) else list(modes)
    else:
        modes = [flag for flag in (*POOLING_FLAGS.values(),
                                   *UNSUPPORTED_POOLING_FLAGS)
                 if config.get(flag)]
        modes = [{flag: mode for mode, flag in POOLING_FLAGS.items()}.get(
            flag, flag) for flag in modes]
    if len(modes) != 1 or modes[0] not in POOLING_FLAGS:
        raise UnsupportedModelError(
            f"{path} sets pooling {modes or 'to nothing'}; tfzoo pools with "
            f"exactly one of {sorted(POOLING_FLAGS)}."
        )
    return modes[0]


def read_layout(directory):
    """The `Layout` of a sentence-transformers directory."""
    modules_path = os.path.join(directory, MODULES_FILE)
    entries = _read_json(modules_path)
    layout = Layout(transformer_path=None, task_kwargs={"normalize": False})
    for entry in sorted(entries, key=lambda e: e.get("idx", 0)):
        kind = _module_kind(entry, modules_path)
        path = entry.get("path", "")
        if kind == "Transformer":
            layout.transformer_path = path
        elif kind == "Pooling":
            config_path = os.path.join(directory, path, "config.json")
            layout.task_kwargs["pooling"] = _pooling(
                _read_json(config_path), config_path
            )
        elif kind == "Dense":
            config_path = os.path.join(directory, path, "config.json")
            config = _read_json(config_path)
            activation = config.get("activation_function")
            if activation not in ACTIVATIONS or not config.get("bias", True):
                raise UnsupportedModelError(
                    f"{config_path}: tfzoo reads Dense modules with a bias "
                    f"and activation {sorted(ACTIVATIONS)}; this one has "
                    f"activation {activation!r}, bias "
                    f"{config.get('bias', True)}."
                )
            layout.task_kwargs.update(
                projection_dim=config["out_features"],
                projection_activation=ACTIVATIONS[activation],
            )
            layout.dense_path = os.path.join(directory, path)
        else:
            layout.task_kwargs["normalize"] = True
    if layout.transformer_path is None or "pooling" not in layout.task_kwargs:
        raise UnsupportedModelError(
            f"{modules_path} needs a Transformer and a Pooling module; it "
            f"lists {[e.get('type') for e in entries]}."
        )
    if layout.dense_path is None:
        layout.task_kwargs.pop("projection_dim", None)
    settings_path = os.path.join(
        directory, layout.transformer_path, "sentence_bert_config.json"
    )
    if not os.path.isfile(settings_path):
        settings_path = os.path.join(directory, "sentence_bert_config.json")
    if os.path.isfile(settings_path):
        layout.max_seq_length = _read_json(settings_path).get("max_seq_length")
    tokenizer_path = os.path.join(
        directory, layout.transformer_path, "tokenizer_config.json"
    )
    if layout.max_seq_length is None and os.path.isfile(tokenizer_path):
        # sentence-transformers 6 keeps it as the tokenizer's limit.
        limit = _read_json(tokenizer_path).get("model_max_length")
        if isinstance(limit, int) and limit < 1_000_000:
            layout.max_seq_length = limit
    return layout


def read_dense_weights(dense_path):
    """(kernel `[in, out]`, bias) of a Dense module's directory."""
    with open_checkpoint(dense_path) as checkpoint:
        return (checkpoint.get("linear.weight").T.copy(),
                checkpoint.get("linear.bias").copy())


def write_layout(directory, pooling, normalize, max_seq_length, hidden_dim,
                 projection=None):
    """Writes the sentence-transformers files around a checkpoint whose
    Transformer files are (or will be) at `directory`'s root.

    `projection`: None, or (kernel `[in, out]`, bias, activation name).
    """
    modules = [
        {"idx": 0, "name": "0", "path": "",
         "type": MODULE_TYPES["Transformer"]},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": MODULE_TYPES["Pooling"]},
    ]
    pooling_config = {"word_embedding_dimension": int(hidden_dim)}
    for mode, flag in POOLING_FLAGS.items():
        pooling_config[flag] = mode == pooling
    for flag in UNSUPPORTED_POOLING_FLAGS:
        pooling_config[flag] = False
    _write_json(os.path.join(directory, "1_Pooling", "config.json"),
                pooling_config)
    if projection is not None:
        kernel, bias, activation = projection
        names = {name: torch_name for torch_name, name in ACTIVATIONS.items()}
        if activation not in names:
            raise ValueError(
                f"sentence-transformers' Dense takes the activations "
                f"{sorted(n for n in names if n)} or none; this projection "
                f"uses {activation!r}."
            )
        path = f"{len(modules)}_Dense"
        modules.append({"idx": len(modules), "name": str(len(modules)),
                        "path": path, "type": MODULE_TYPES["Dense"]})
        _write_json(os.path.join(directory, path, "config.json"), {
            "in_features": int(kernel.shape[0]),
            "out_features": int(kernel.shape[1]),
            "bias": True,
            "activation_function": names[activation],
        })
        write_checkpoint(os.path.join(directory, path), {
            "linear.weight": kernel.T, "linear.bias": bias,
        })
    if normalize:
        path = f"{len(modules)}_Normalize"
        modules.append({"idx": len(modules), "name": str(len(modules)),
                        "path": path, "type": MODULE_TYPES["Normalize"]})
        os.makedirs(os.path.join(directory, path), exist_ok=True)
    _write_json(os.path.join(directory, MODULES_FILE), modules)
    _write_json(os.path.join(directory, "sentence_bert_config.json"),
                {"max_seq_length": int(max_seq_length),
                 "do_lower_case": False})
    _write_json(os.path.join(directory, "config_sentence_transformers.json"),
                {"similarity_fn_name": "cosine", "prompts": {},
                 "default_prompt_name": None})


def _write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(value, file, indent=2)
