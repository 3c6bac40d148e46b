"""A local checkpoint directory from a path or a Hugging Face hub id.

A directory is used as it is. Anything else that looks like a hub id
(`name` or `owner/name`) is downloaded with `huggingface_hub` when it is
installed and the hub is reachable; offline (no network, or
`HF_HUB_OFFLINE=1`) it fails at once with an error that says to pass a
local directory.

Example:

>>> import os, tempfile
>>> directory = tempfile.mkdtemp()
>>> resolve_checkpoint(directory) == directory
True
>>> os.environ["HF_HUB_OFFLINE"] = "1"
>>> try:
...     resolve_checkpoint("no-such-owner/no-such-model")
... except HubUnavailableError as error:
...     print(str(error)[:76])
'no-such-owner/no-such-model' is not a local directory, and the Hugging Face
>>> del os.environ["HF_HUB_OFFLINE"]
"""

import os
import re

# Files a conversion reads; nothing else is downloaded.
CHECKPOINT_PATTERNS = [
    "config.json", "model.safetensors", "model-*.safetensors",
    "model.safetensors.index.json", "vocab.txt", "vocab.json", "merges.txt",
    "tokenizer_config.json", "special_tokens_map.json",
]
# PyTorch weights, fetched only for repositories without safetensors.
PYTORCH_PATTERNS = ["pytorch_model.bin", "pytorch_model-*.bin",
                    "pytorch_model.bin.index.json"]
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# Seconds to wait for the hub before giving up.
HUB_TIMEOUT = 10


class HubUnavailableError(OSError):
    """A hub id was given but the hub cannot be reached."""


def _offline_error(path, reason):
    return HubUnavailableError(
        f"{path!r} is not a local directory, and the Hugging Face hub "
        f"cannot be used ({reason}). Download the checkpoint elsewhere and "
        f"pass its local directory (config.json, model.safetensors and the "
        f"tokenizer files)."
    )


def resolve_checkpoint(path):
    """Returns a local directory holding the checkpoint `path`."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return path
    if os.path.exists(path):
        raise NotADirectoryError(
            f"{path} is a file; pass the checkpoint directory that holds "
            f"config.json and model.safetensors."
        )
    if not HUB_ID.match(path) or path.count("/") > 1:
        raise FileNotFoundError(f"Checkpoint directory {path} not found.")
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise _offline_error(path, "HF_HUB_OFFLINE is set")
    try:
        import huggingface_hub
    except ImportError:
        raise _offline_error(
            path, "huggingface_hub is not installed"
        ) from None
    try:
        directory = huggingface_hub.snapshot_download(
            path, allow_patterns=CHECKPOINT_PATTERNS, etag_timeout=HUB_TIMEOUT
        )
        if not any(os.path.isfile(os.path.join(directory, name)) for name
                   in ("model.safetensors", "model.safetensors.index.json")):
            directory = huggingface_hub.snapshot_download(
                path, allow_patterns=CHECKPOINT_PATTERNS + PYTORCH_PATTERNS,
                etag_timeout=HUB_TIMEOUT,
            )
        return directory
    except huggingface_hub.errors.RepositoryNotFoundError:
        raise FileNotFoundError(
            f"{path!r} is neither a local directory nor a model on the "
            f"Hugging Face hub."
        ) from None
    except (OSError, huggingface_hub.errors.HfHubHTTPError) as error:
        raise _offline_error(
            path, f"{type(error).__name__}: {str(error).splitlines()[0]}"
        ) from None
