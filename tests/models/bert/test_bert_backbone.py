import keras
import keras_hub
import numpy as np
import pytest

from tests import synthetic_tasks
from tests.harness import run_model_test
from tfzoo.models import BertBackbone

SMALL = dict(synthetic_tasks.TINY_BERT, dropout=0.1)


def inputs(batch=2, length=8, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, length), "int32")
    mask[0, length // 2 :] = 0
    return {
        "token_ids": rng.integers(5, 40, (batch, length)).astype("int32")
        * mask,
        "segment_ids": np.zeros((batch, length), "int32"),
        "padding_mask": mask,
    }


def test_shared_checks():
    outputs = run_model_test(lambda: BertBackbone(**SMALL), inputs())
    assert outputs["sequence_output"].shape == (2, 8, 64)
    assert outputs["pooled_output"].shape == (2, 64)


@pytest.mark.parametrize(
    "preset, layers, hidden, heads",
    [
        ("bert_tiny", 2, 128, 2),
        ("bert_mini", 4, 256, 4),
        ("bert_small", 4, 512, 8),
        ("bert_medium", 8, 512, 8),
        ("bert_base", 12, 768, 12),
        ("bert_large", 24, 1024, 16),
    ],
)
def test_presets(preset, layers, hidden, heads):
    config = BertBackbone.presets[preset]
    assert (
        config["num_layers"],
        config["hidden_dim"],
        config["num_heads"],
        config["intermediate_dim"],
        config["vocabulary_size"],
    ) == (layers, hidden, heads, 4 * hidden, 30522)


@pytest.mark.parametrize("preset", ["bert_tiny", "bert_mini"])
def test_preset_parameter_count_matches_keras_hub(preset):
    ours = BertBackbone.from_preset(preset)
    config = BertBackbone.presets[preset]
    theirs = keras_hub.models.BertBackbone(
        vocabulary_size=config["vocabulary_size"],
        num_layers=config["num_layers"],
        num_heads=config["num_heads"],
        hidden_dim=config["hidden_dim"],
        intermediate_dim=config["intermediate_dim"],
        max_sequence_length=config["max_sequence_length"],
        num_segments=config["num_segments"],
    )
    assert ours.count_params() == theirs.count_params()


def test_from_preset_overrides_and_unknown_name():
    backbone = BertBackbone.from_preset("bert_tiny", vocabulary_size=99)
    assert backbone.vocabulary_size == 99 and backbone.num_layers == 2
    with pytest.raises(ValueError, match="Unknown BertBackbone preset"):
        BertBackbone.from_preset("bert_huge")


def test_padded_tokens_do_not_change_real_positions():
    backbone = BertBackbone(**SMALL)
    x = inputs()
    changed = {key: value.copy() for key, value in x.items()}
    changed["token_ids"][0, 4:] = 17
    changed["segment_ids"][0, 4:] = 1
    out = backbone(x)
    out_changed = backbone(changed)
    np.testing.assert_allclose(
        out["sequence_output"][0, :4], out_changed["sequence_output"][0, :4],
        atol=1e-5,
    )
    np.testing.assert_allclose(
        out["pooled_output"], out_changed["pooled_output"], atol=1e-5
    )


def test_pooled_output_is_the_pooler_on_the_first_token():
    backbone = BertBackbone(**SMALL)
    out = backbone(inputs())
    expected = backbone.pooler(out["sequence_output"][:, 0])
    np.testing.assert_allclose(out["pooled_output"], expected, atol=1e-5)


def test_mixed_bfloat16_computes_in_bfloat16_with_float32_weights():
    backbone = BertBackbone(**SMALL, dtype="mixed_bfloat16")
    out = backbone(inputs())
    assert out["sequence_output"].dtype == "bfloat16"
    assert all(w.dtype == "float32" for w in backbone.weights)
    reference = BertBackbone(**SMALL)
    reference.set_weights(backbone.get_weights())
    np.testing.assert_allclose(
        np.asarray(out["pooled_output"], "float32"),
        reference(inputs())["pooled_output"],
        atol=0.1,
    )


def test_summary_names_the_parts():
    lines = []
    BertBackbone(**SMALL).summary(print_fn=lines.append)
    text = "\n".join(lines)
    for part in ("token_ids", "embeddings", "transformer_layer_1", "pooler"):
        assert part in text


class TestBadInput:
    backbone = None

    @classmethod
    def setup_class(cls):
        cls.backbone = BertBackbone(**SMALL)

    def test_missing_key(self):
        x = inputs()
        del x["segment_ids"]
        with pytest.raises(ValueError, match=r"missing \['segment_ids'\]"):
            self.backbone(x)

    def test_wrong_key(self):
        x = inputs()
        x["input_ids"] = x.pop("token_ids")
        with pytest.raises(
            ValueError, match=r"missing \['token_ids'\].*unexpected"
        ):
            self.backbone(x)

    def test_not_a_dict(self):
        with pytest.raises(TypeError, match="expects a dict"):
            self.backbone(inputs()["token_ids"])

    def test_sequence_too_long(self):
        with pytest.raises(ValueError, match="max_sequence_length=32"):
            self.backbone(inputs(length=33))

    def test_token_id_outside_vocabulary(self):
        x = inputs()
        x["token_ids"][1, 2] = 40
        with pytest.raises(ValueError, match=r"token id 40.*\[0, 40\)"):
            self.backbone(x)

    def test_heads_must_divide_hidden(self):
        with pytest.raises(ValueError, match="divisible by num_heads"):
            BertBackbone(**dict(SMALL, num_heads=5))
