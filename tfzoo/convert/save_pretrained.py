"""Writing tfzoo models as Hugging Face checkpoints.

`save_pretrained(model, directory)` writes `config.json`, the weights as
`model.safetensors` (or shards plus `model.safetensors.index.json` with
`max_shard_size`) and, when the model has a preprocessor (or a tokenizer
is passed), the tokenizer files, so that `transformers`'
`AutoModel...from_pretrained(directory)` gives the same outputs as the
tfzoo model. Each tensor is converted when it is written, with a progress
bar. `BertBackbone.save_pretrained(directory)` and the same method on the
tasks call this.
"""

import json
import os
import re

import numpy as np
from tqdm.auto import tqdm

from tfzoo.convert import sentence_transformers_layout
from tfzoo.convert.hf_config import hf_config, infer_model_type
from tfzoo.convert.hf_tokenizer import check_savable, save_tokenizer
from tfzoo.convert.safetensors_io import write_checkpoint
from tfzoo.models import registry
from tfzoo.models.text_embedder import TextEmbedder

SIZE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9,
              "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def parse_size(size):
    """Bytes from an int or a string such as "200MB" or "10KiB".

    >>> parse_size("10KB"), parse_size(512), parse_size(None)
    (10000, 512, None)
    """
    if size is None or isinstance(size, int):
        return size
    match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", str(size))
    if not match or match.group(2).upper() not in SIZE_UNITS:
        raise ValueError(
            f"max_shard_size must be bytes or a size such as '200MB', got "
            f"{size!r}."
        )
    return int(match.group(1)) * SIZE_UNITS[match.group(2).upper()]


def _label_config(model):
    num_classes = getattr(model, "num_classes", None)
    if num_classes is None:
        return {}
    preprocessor = getattr(model, "preprocessor", None)
    names = getattr(preprocessor, "label_names", None)
    if not names or len(names) != num_classes:
        names = [f"LABEL_{i}" for i in range(num_classes)]
    config = {
        "id2label": {str(i): n for i, n in enumerate(names)},
        "label2id": {n: i for i, n in enumerate(names)},
    }
    if num_classes == 1:
        config["problem_type"] = "regression"
    return config


def _special_token_ids(tokenizer, checkpoint_format):
    """config.json's pad/bos/eos ids, from the tokenizer's vocabulary."""
    if tokenizer is None or not hasattr(tokenizer, "get_vocabulary"):
        return {}
    ids = {token: i for i, token in enumerate(tokenizer.get_vocabulary())}
    roles = checkpoint_format.SPECIAL_TOKEN_IDS
    return {key: ids[token] for key, token in roles.items() if token in ids}


def save_pretrained(model, directory, model_type=None, max_shard_size=None,
                    tokenizer=None, progress=True):
    """Writes `model` (a backbone or task) as a Hugging Face checkpoint.

    Args:
        model: a tfzoo backbone or task model.
        directory: output directory (created if needed).
        model_type: a registered Hugging Face model type ("bert",
            "roberta", "distilbert", "gpt2", ...); by default the one whose
            checkpoint format `describes` the backbone (for a
            `BertBackbone`: a `position_offset` means RoBERTa, no segment
            embeddings DistilBERT).
        max_shard_size: split the weights into shards of at most this many
            bytes (int, or e.g. "200MB").
        tokenizer: tokenizer to save; by default the preprocessor's (or
            the model's). False: save no tokenizer files.
        progress: show a progress bar.

    A `TextEmbedder` is written as a sentence-transformers directory: its
    backbone as the Hugging Face checkpoint at the root, plus
    `modules.json`, the pooling, projection and normalisation modules and
    `sentence_bert_config.json` (see `sentence_transformers_layout`).
    """
    if isinstance(model, TextEmbedder):
        _save_text_embedder(model, directory, model_type, max_shard_size,
                            tokenizer, progress)
        return
    backbone = getattr(model, "backbone", model)
    model_type = model_type or infer_model_type(backbone)
    checkpoint_format = registry.checkpoint_format(model_type)
    prefix = checkpoint_format.BASE_PREFIX if model is not backbone else ""
    weights = checkpoint_format.model_weights(model, prefix)
    config = hf_config(backbone, model_type)
    config.update(architectures=[weights.architecture])
    config.update(_label_config(model))
    config.update(weights.config)

    tensors = []
    for group in weights.groups:
        if not group.save:
            continue
        for spec in group.specs:
            for index, (name, shape) in enumerate(
                zip(spec.hf_names, spec.hf_shapes)
            ):
                tensors.append((
                    name, shape, np.float32,
                    lambda spec=spec, index=index: spec.to_hf(
                        np.asarray(spec.variable.numpy(), np.float32)
                    )[index],
                ))
    if tokenizer is None:
        tokenizer = getattr(getattr(model, "preprocessor", None),
                            "tokenizer", None)
    if tokenizer is None:
        tokenizer = getattr(model, "tokenizer", None)  # e.g. GPTCausalLM
    if tokenizer is False:
        tokenizer = None
    if tokenizer is not None:
        check_savable(tokenizer, model_type)  # before anything is written
    config.update(_special_token_ids(tokenizer, checkpoint_format))

    os.makedirs(directory, exist_ok=True)
    with tqdm(
        total=len(tensors), desc=f"Saving {weights.architecture}",
        unit="tensor", disable=not progress, leave=False,
    ) as bar:
        write_checkpoint(
            directory, tensors, max_shard_size=parse_size(max_shard_size),
            progress=lambda: bar.update(1),
        )
    with open(os.path.join(directory, "config.json"), "w",
              encoding="utf-8") as file:
        json.dump(config, file, indent=2, sort_keys=True)
    if tokenizer is not None:
        sequence_length = getattr(
            getattr(model, "preprocessor", None), "sequence_length", None
        )
        save_tokenizer(
            tokenizer, directory, model_type,
            model_max_length=backbone.max_sequence_length or sequence_length,
        )


def _save_text_embedder(model, directory, model_type, max_shard_size,
                        tokenizer, progress):
    if tokenizer is None:
        tokenizer = getattr(model.preprocessor, "tokenizer", None)
    save_pretrained(model.backbone, directory, model_type, max_shard_size,
                    tokenizer if tokenizer is not None else False, progress)
    projection = None
    if model.projection is not None:
        kernel, bias = (np.asarray(w, np.float32)
                        for w in model.projection.get_weights())
        projection = (kernel, bias, model.projection_activation)
    sequence_length = getattr(model.preprocessor, "sequence_length", None)
    sentence_transformers_layout.write_layout(
        directory, model.pooling, model.normalize,
        sequence_length or model.backbone.max_sequence_length,
        model.backbone.hidden_dim, projection,
    )
