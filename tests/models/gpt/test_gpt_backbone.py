import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from tests.harness import run_cached_decoding_test, run_model_test
from tfzoo.layers import GatedFeedForward, RMSNormalization
from tfzoo.models import GPTBackbone, GPTCausalLM

VOCABULARY = 60
DEFAULT = dict(vocabulary_size=VOCABULARY, num_layers=2, num_heads=2,
               hidden_dim=32, intermediate_dim=64, max_sequence_length=24)
MODERN = dict(DEFAULT, num_heads=4, num_key_value_heads=2,
              position_embedding="rotary", normalization="rms_norm",
              feed_forward="swiglu", activation="silu", use_bias=False,
              intermediate_dim=48)
CONFIGS = pytest.mark.parametrize("config", [DEFAULT, MODERN],
                                  ids=["gpt2", "modern"])


def inputs(batch=2, length=8, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, length), "int32")
    mask[0, length // 2:] = 0
    return {
        "token_ids": rng.integers(1, VOCABULARY, (batch, length)).astype(
            "int32") * mask,
        "padding_mask": mask,
    }


@CONFIGS
def test_shared_checks(config):
    output = run_model_test(lambda: GPTBackbone(**config), inputs())
    assert output.shape == (2, 8, 32)


@pytest.mark.parametrize(
    "preset, layers, hidden, heads",
    [("gpt_tiny", 2, 128, 2), ("gpt_mini", 4, 256, 4),
     ("gpt2_small", 12, 768, 12), ("gpt2_medium", 24, 1024, 16)],
)
def test_presets(preset, layers, hidden, heads):
    config = GPTBackbone.presets[preset]
    assert (
        config["num_layers"], config["hidden_dim"], config["num_heads"],
        config["intermediate_dim"], config["vocabulary_size"],
        config["max_sequence_length"],
    ) == (layers, hidden, heads, 4 * hidden, 50257, 1024)


@pytest.mark.parametrize("preset", ["gpt_tiny", "gpt_mini"])
def test_preset_parameter_count_matches_keras_hub(preset):
    ours = GPTBackbone.from_preset(preset)
    config = GPTBackbone.presets[preset]
    theirs = keras_hub.models.GPT2Backbone(
        vocabulary_size=config["vocabulary_size"],
        num_layers=config["num_layers"],
        num_heads=config["num_heads"],
        hidden_dim=config["hidden_dim"],
        intermediate_dim=config["intermediate_dim"],
        max_sequence_length=config["max_sequence_length"],
    )
    assert ours.count_params() == theirs.count_params()


def test_gpt2_small_has_hugging_face_parameter_count():
    # Hugging Face's GPT-2 small: 124,439,808 parameters, the language
    # model head tied to the token embedding (so the task adds none).
    model = GPTCausalLM.from_preset("gpt2_small")
    assert model.backbone.count_params() == 124_439_808
    assert model.count_params() == 124_439_808


def test_modern_parameter_count():
    backbone = GPTBackbone(**MODERN)
    hidden, head_dim = 32, 8
    per_layer = (
        2 * hidden  # two RMSNorm scales, no biases
        + hidden * (4 + 2 * 2) * head_dim  # fused q, k, v (2 kv heads)
        + 4 * head_dim * hidden  # attention output
        + hidden * 2 * 48 + 48 * hidden  # SwiGLU gate/up and output
    )
    # Token embedding, no position table (rotary), final RMSNorm.
    expected = VOCABULARY * hidden + 2 * per_layer + hidden
    assert backbone.count_params() == expected
    assert backbone.position_embedding is None
    block = backbone.transformer_layers[0]
    assert isinstance(block.feed_forward, GatedFeedForward)
    assert isinstance(backbone.final_norm, RMSNormalization)


def test_from_preset_overrides_and_unknown_name():
    backbone = GPTBackbone.from_preset(
        "gpt_tiny", vocabulary_size=VOCABULARY, max_sequence_length=32)
    assert (backbone.vocabulary_size, backbone.num_layers,
            backbone.hidden_dim, backbone.max_sequence_length) == (
        VOCABULARY, 2, 128, 32)
    with pytest.raises(ValueError, match="Unknown GPTBackbone preset "
                                         "'gpt_huge'"):
        GPTBackbone.from_preset("gpt_huge")


@CONFIGS
def test_future_and_padded_tokens_do_not_change_earlier_positions(config):
    backbone = GPTBackbone(**config)
    x = inputs(batch=2, length=8)
    x["padding_mask"][:] = 1
    out = backbone(x).numpy()
    changed = {key: value.copy() for key, value in x.items()}
    changed["token_ids"][:, 5:] = 7
    np.testing.assert_allclose(backbone(changed).numpy()[:, :5], out[:, :5],
                               atol=1e-5)
    # Right padding (masked) changes nothing at the real positions either.
    padded = {key: value.copy() for key, value in changed.items()}
    padded["padding_mask"][:, 5:] = 0
    padded["token_ids"][:, 5:] = 0
    np.testing.assert_allclose(backbone(padded).numpy()[:, :5], out[:, :5],
                               atol=1e-5)


def test_learned_positions_matter_and_rotary_positions_are_relative():
    x = {"token_ids": np.full((1, 6), 9, "int32"),
         "padding_mask": np.ones((1, 6), "int32")}
    # With one repeated token, only position information can vary the
    # output along the sequence.
    learned = GPTBackbone(**DEFAULT)(x).numpy()[0]
    rotary = GPTBackbone(**MODERN)(x).numpy()[0]
    assert not np.allclose(learned[0], learned[3], atol=1e-4)
    # Rotary with identical tokens: each query sees identical keys, so
    # attention averages identical values and every position agrees.
    np.testing.assert_allclose(rotary, np.repeat(rotary[:1], 6, 0),
                               atol=1e-5)


@CONFIGS
@pytest.mark.parametrize("jit_compile", [False, True])
def test_call_with_cache_step_by_step_equals_full_pass(config, jit_compile):
    backbone = GPTBackbone(**config)
    token_ids = np.maximum(inputs(batch=2, length=8, seed=1)["token_ids"], 1)
    cache = backbone.empty_cache(2, 12)
    kv_heads = config.get("num_key_value_heads", config["num_heads"])
    assert len(cache) == config["num_layers"]
    assert cache[0][0].shape == (2, kv_heads, 12,
                                 32 // config["num_heads"])
    run_cached_decoding_test(
        lambda ids: backbone({"token_ids": ids,
                              "padding_mask": np.ones_like(ids)}),
        backbone.call_with_cache,
        token_ids,
        cache,
        prompt_length=3,
        jit_compile=jit_compile,
    )


def test_mixed_precision_backbone_is_close_to_float32():
    x = inputs()
    full = GPTBackbone(**MODERN)
    mixed = GPTBackbone(**MODERN, dtype="mixed_bfloat16")
    mixed.set_weights(full.get_weights())
    assert all(v.dtype == "float32" for v in mixed.weights)
    out = mixed(x)
    assert out.dtype == tf.bfloat16
    np.testing.assert_allclose(np.asarray(tf.cast(out, "float32")),
                               full(x).numpy(), atol=0.1)
    step, cache = mixed.call_with_cache(x["token_ids"][:, :1],
                                        mixed.empty_cache(2, 8), 0)
    assert step.dtype == cache[0][0].dtype == tf.bfloat16


def test_bad_config_names_are_errors():
    with pytest.raises(
        ValueError,
        match=r"position_embedding must be one of \('learned', 'rotary'\), "
              r"got 'sinusoidal'\.",
    ):
        GPTBackbone(**dict(DEFAULT, position_embedding="sinusoidal"))
    with pytest.raises(
        ValueError,
        match=r"normalization must be one of \('layer_norm', 'rms_norm'\), "
              r"got 'batch_norm'\.",
    ):
        GPTBackbone(**dict(DEFAULT, normalization="batch_norm"))
    with pytest.raises(
        ValueError,
        match=r"feed_forward must be one of \('mlp', 'swiglu'\), got "
              r"'moe'\.",
    ):
        GPTBackbone(**dict(DEFAULT, feed_forward="moe"))
    with pytest.raises(ValueError, match="num_layers must be >= 1, got 0."):
        GPTBackbone(**dict(DEFAULT, num_layers=0))
    with pytest.raises(ValueError, match=r"num_heads \(4\) must be a "
                                         r"multiple of num_key_value_heads "
                                         r"\(3\)"):
        GPTBackbone(**dict(MODERN, num_key_value_heads=3))


def test_bad_inputs_are_errors():
    backbone = GPTBackbone(**DEFAULT)
    x = inputs()
    x["token_ids"][1, 2] = VOCABULARY
    with pytest.raises(ValueError, match=r"GPTBackbone got token id 60, "
                                         r"outside its vocabulary \[0, 60\)"):
        backbone(x)
    long = inputs(length=25)
    with pytest.raises(ValueError, match="GPTBackbone got sequences of "
                                         "length 25, longer than its "
                                         "max_sequence_length=24"):
        backbone(long)
    with pytest.raises(ValueError, match=r"missing \['padding_mask'\]"):
        backbone({"token_ids": inputs()["token_ids"]})
