"""Reading fields of a Hugging Face `config.json` with clear errors.

Example:

>>> config = {"model_type": "bert", "hidden_size": 8, "_path": "config.json"}
>>> field(config, "hidden_size"), field(config, "layer_norm_eps", 1e-12)
(8, 1e-12)
>>> field(config, "vocab_size")
Traceback (most recent call last):
...
ValueError: config.json lacks 'vocab_size', which model_type 'bert' needs.
"""

CONFIG_FILE = "config.json"


class UnsupportedModelError(ValueError):
    """The checkpoint's model type or an option of it is not supported."""


def field(config, key, default=None):
    """`config[key]`, else `default`; an error names a missing field."""
    if key in config and config[key] is not None:
        return config[key]
    if default is not None:
        return default
    raise ValueError(
        f"{config.get('_path', CONFIG_FILE)} lacks {key!r}, which "
        f"model_type {config.get('model_type')!r} needs."
    )


def require(config, key, allowed, default):
    """`config[key]` (or `default`), which must be one of `allowed`."""
    value = config.get(key, default)
    if value is None:
        value = default
    if value not in allowed:
        raise UnsupportedModelError(
            f"{config.get('_path', CONFIG_FILE)} sets {key}={value!r}; tfzoo "
            f"supports {list(allowed)} for model_type "
            f"{config.get('model_type')!r}."
        )
    return value
