"""Tests of `T5Backbone`: equal to Hugging Face's T5 and T5 v1.1 with
padding in the batch, cached decoding, presets, config round trips."""

import numpy as np
import pytest
import tensorflow as tf
import torch

from tests.harness import run_cached_decoding_test, run_model_test
from tests.models.t5.hf_t5 import (
    VOCABULARY,
    backbone_config,
    hf_model,
    t5_backbone_from,
)
from tfzoo.models.t5 import T5Backbone

VARIANTS = pytest.mark.parametrize("v1_1", [False, True],
                                   ids=["t5", "t5_v1_1"])
TOLERANCE = 1e-4


def batch(source_lengths=(9, 5), target_lengths=(6, 3), seed=0):
    """Right-padded sources and targets (the first target starts with the
    decoder start id 0)."""
    rng = np.random.default_rng(seed)

    def padded(lengths):
        width = max(lengths)
        mask = (np.arange(width)[None] < np.array(lengths)[:, None])
        ids = rng.integers(2, VOCABULARY, (len(lengths), width)) * mask
        return ids.astype("int32"), mask.astype("int32")

    encoder_ids, encoder_mask = padded(source_lengths)
    decoder_ids, decoder_mask = padded(target_lengths)
    decoder_ids[:, 0] = 0
    return {"encoder_token_ids": encoder_ids,
            "encoder_padding_mask": encoder_mask,
            "decoder_token_ids": decoder_ids,
            "decoder_padding_mask": decoder_mask}


@VARIANTS
def test_equals_transformers_with_padding(v1_1):
    hf = hf_model(v1_1)
    backbone = t5_backbone_from(hf)
    inputs = batch()
    outputs = backbone(inputs)
    logits = backbone.logits(outputs["decoder_sequence_output"]).numpy()
    with torch.no_grad():
        theirs = hf(
            input_ids=torch.tensor(inputs["encoder_token_ids"]).long(),
            attention_mask=torch.tensor(inputs["encoder_padding_mask"]),
            decoder_input_ids=torch.tensor(
                inputs["decoder_token_ids"]).long(),
            decoder_attention_mask=torch.tensor(
                inputs["decoder_padding_mask"]),
            output_hidden_states=True,
        )
    encoder_mask = inputs["encoder_padding_mask"].astype(bool)
    decoder_mask = inputs["decoder_padding_mask"].astype(bool)
    # Real positions only: padded queries are never read.
    pairs = [
        (outputs["encoder_sequence_output"].numpy()[encoder_mask],
         theirs.encoder_last_hidden_state.numpy()[encoder_mask]),
        (outputs["decoder_sequence_output"].numpy()[decoder_mask],
         theirs.decoder_hidden_states[-1].numpy()[decoder_mask]),
        (logits[decoder_mask], theirs.logits.numpy()[decoder_mask]),
    ]
    for ours, reference in pairs:
        assert np.abs(reference).max() > 0.1  # not trivially small
        np.testing.assert_allclose(ours, reference, atol=TOLERANCE,
                                   rtol=TOLERANCE)


def test_shared_checks_untied_head():
    config = dict(vocabulary_size=VOCABULARY, num_layers=1,
                  num_decoder_layers=1, num_heads=2, hidden_dim=16,
                  intermediate_dim=24, head_dim=4, feed_forward="gated",
                  activation="gelu_approximate", tie_embedding_weights=False)
    output = run_model_test(lambda: T5Backbone(**config), batch())
    assert output["decoder_sequence_output"].shape == (2, 6, 16)


@VARIANTS
def test_cached_decoding_equals_full_forward(v1_1):
    backbone = t5_backbone_from(hf_model(v1_1, seed=1))
    inputs = batch(target_lengths=(6, 6), seed=2)
    encoder_output = backbone.encode(inputs["encoder_token_ids"],
                                     inputs["encoder_padding_mask"])
    context = backbone.project_encoder_output(
        encoder_output, inputs["encoder_padding_mask"])

    def forward(decoder_ids):
        return backbone.decode(
            decoder_ids, tf.ones_like(decoder_ids), encoder_output,
            inputs["encoder_padding_mask"])

    run_cached_decoding_test(
        forward,
        lambda ids, cache, index: backbone.call_with_cache(
            ids, cache, index, context),
        tf.constant(inputs["decoder_token_ids"]),
        backbone.empty_cache(2, 8),
        prompt_length=2,
        atol=1e-5,
    )


def test_encoder_padding_does_not_change_real_positions():
    backbone = t5_backbone_from(hf_model(seed=3))
    inputs = batch(source_lengths=(5, 5), seed=4)
    wide = {key: value for key, value in inputs.items()}
    for key in ("encoder_token_ids", "encoder_padding_mask"):
        wide[key] = np.pad(inputs[key], [[0, 0], [0, 11]])
    narrow_out = backbone(inputs)
    wide_out = backbone(wide)
    np.testing.assert_allclose(
        wide_out["encoder_sequence_output"].numpy()[:, :5],
        narrow_out["encoder_sequence_output"].numpy(), atol=1e-5)
    np.testing.assert_allclose(wide_out["decoder_sequence_output"].numpy(),
                               narrow_out["decoder_sequence_output"].numpy(),
                               atol=1e-5)


@pytest.mark.parametrize(
    "preset, layers, hidden, heads, head_dim, intermediate, v1_1",
    [("t5_tiny", 2, 128, 2, 64, 512, False),
     ("t5_small", 6, 512, 8, 64, 2048, False),
     ("t5_base", 12, 768, 12, 64, 3072, False),
     ("t5_v1_1_small", 8, 512, 6, 64, 1024, True),
     ("t5_v1_1_base", 12, 768, 12, 64, 2048, True),
     ("flan_t5_small", 8, 512, 6, 64, 1024, True)],
)
def test_presets(preset, layers, hidden, heads, head_dim, intermediate,
                 v1_1):
    config = T5Backbone.presets[preset]
    assert (config["num_layers"], config["hidden_dim"], config["num_heads"],
            config["head_dim"], config["intermediate_dim"],
            config["vocabulary_size"]) == (
        layers, hidden, heads, head_dim, intermediate, 32128)
    assert config["feed_forward"] == ("gated" if v1_1 else "mlp")
    assert config["activation"] == ("gelu_approximate" if v1_1 else "relu")
    assert config["tie_embedding_weights"] is not v1_1


def test_t5_tiny_parameters_and_config_round_trip():
    backbone = T5Backbone.from_preset("t5_tiny", vocabulary_size=100)
    hidden, intermediate, layers = 128, 512, 2
    attention = 4 * hidden * hidden
    feed_forward = 2 * hidden * intermediate
    expected = (
        100 * hidden + 2 * 32 * 2  # embedding, two bias tables
        + layers * (attention + feed_forward + 2 * hidden)
        + layers * (2 * attention + feed_forward + 3 * hidden)
        + 2 * hidden  # final norms
    )
    assert backbone.count_params() == expected
    rebuilt = T5Backbone.from_config(backbone.get_config())
    assert rebuilt.get_config() == backbone.get_config()


def test_bad_inputs_are_named():
    backbone = T5Backbone(VOCABULARY, 1, 2, 16, 32, max_sequence_length=8)
    inputs = batch()
    with pytest.raises(ValueError, match=r"encoder_token_ids.*longer than "
                                         r"its max_sequence_length=8"):
        backbone(inputs)
    inputs = batch(source_lengths=(4, 3))
    inputs["decoder_token_ids"][0, 0] = VOCABULARY
    with pytest.raises(ValueError, match=r"decoder_token_ids.*token id 64"):
        backbone(inputs)
    with pytest.raises(ValueError, match="feed_forward must be one of"):
        T5Backbone(VOCABULARY, 1, 2, 16, 32, feed_forward="geglu")


def test_mixed_bfloat16_close_to_float32():
    hf = hf_model(v1_1=True, seed=7)
    config = backbone_config(hf)
    exact = t5_backbone_from(hf)
    mixed = T5Backbone(**config, dtype="mixed_bfloat16")
    mixed.set_weights(exact.get_weights())
    assert all(v.dtype == "float32" for v in mixed.weights)
    inputs = batch()
    expected = exact(inputs)["decoder_sequence_output"].numpy()
    got = mixed(inputs)["decoder_sequence_output"]
    assert got.dtype == tf.bfloat16
    mask = inputs["decoder_padding_mask"].astype(bool)
    error = np.abs(np.asarray(got, "float32") - expected)[mask]
    assert error.max() < 0.1 * np.abs(expected).max()
    logits = mixed.logits(got)
    assert logits.dtype == tf.float32 and np.isfinite(logits).all()
