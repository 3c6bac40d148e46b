"""config.json to backbone arguments and back, for every model type."""

import pytest

from tests.convert.hf_reference import tiny_config
from tfzoo.convert.hf_config import (
    UnsupportedModelError,
    backbone_kwargs,
    hf_config,
    infer_model_type,
)
from tfzoo.models import BertBackbone, GPTBackbone


@pytest.mark.parametrize("model_type", ["bert", "roberta", "distilbert",
                                        "gpt2"])
def test_config_round_trips(model_type):
    config = tiny_config(model_type).to_dict()
    kwargs = backbone_kwargs(config)
    backbone_class = GPTBackbone if model_type == "gpt2" else BertBackbone
    backbone = backbone_class(**kwargs)
    assert infer_model_type(backbone) == model_type
    written = hf_config(backbone, model_type)
    # Special token ids come from the tokenizer (see save_pretrained).
    skip = {"dtype", "bos_token_id", "eos_token_id"}
    for key, value in written.items():
        if key in config and config[key] is not None and key not in skip:
            assert config[key] == value, key
    assert backbone_kwargs(written) == kwargs


def test_expected_arguments():
    assert backbone_kwargs(tiny_config("roberta").to_dict()) == {
        "vocabulary_size": 99, "num_layers": 2, "num_heads": 4,
        "hidden_dim": 32, "intermediate_dim": 37, "dropout": 0.1,
        "max_sequence_length": 64, "num_segments": 1,
        "layer_norm_epsilon": 1e-5, "position_offset": 2,
        "activation": "gelu",
    }
    distilbert = backbone_kwargs(tiny_config("distilbert").to_dict())
    assert distilbert["num_segments"] == 0
    assert distilbert["pooler_activation"] == "relu"
    gpt2 = backbone_kwargs(tiny_config("gpt2").to_dict())
    assert gpt2["intermediate_dim"] == 128
    assert gpt2["activation"] == "gelu_approximate"


def test_unsupported_options_and_missing_keys():
    config = tiny_config("bert").to_dict()
    with pytest.raises(UnsupportedModelError,
                       match="position_embedding_type='relative_key'"):
        backbone_kwargs({**config, "position_embedding_type": "relative_key"})
    del config["hidden_size"]
    with pytest.raises(ValueError, match="lacks 'hidden_size'"):
        backbone_kwargs(config)
    with pytest.raises(UnsupportedModelError, match="'llama' .*not supported"):
        backbone_kwargs({"model_type": "llama"})
