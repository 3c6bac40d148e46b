"""Tests of `TransformerBlock`, the one block: what the removed
`TransformerEncoderBlock`, `TransformerDecoderBlock` and
`CausalDecoderBlock` were tested for, in the new API, and the arguments
the merge added (`score_bias`, `score_scale`, `context_cache`, a written
cache with cross-attention)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.harness import run_cached_decoding_test, run_layer_test
from tfzoo.layers import (
    FeedForward,
    GatedFeedForward,
    RMSNormalization,
    TransformerBlock,
)
from tfzoo.layers.attention import MASKED_SCORE
from tfzoo.layers.transformer_block import (
    CausalDecoderBlock,
    TransformerEncoderBlock,
    check_heads_divide_hidden,
    normalization_layer,
)

BATCH, LENGTH, HIDDEN, HEADS = 2, 6, 32, 4
CONTEXT_LENGTH = 4

BERT = {"num_heads": HEADS, "intermediate_dim": 64}  # post-norm encoder
GPT2 = {"num_heads": HEADS, "intermediate_dim": 64, "causal": True,
        "normalize_first": True}
MODERN = {
    "num_heads": HEADS, "intermediate_dim": 48, "num_key_value_heads": 2,
    "causal": True, "normalize_first": True, "normalization": "rms_norm",
    "feed_forward": "gated", "activation": "silu", "rotary": True,
    "use_bias": False,
}
DECODER = {"num_heads": HEADS, "intermediate_dim": 64, "causal": True,
           "cross_attention": True, "normalize_first": True}
POST_NORM_DECODER = dict(DECODER, normalize_first=False)
MODERN_DECODER = dict(MODERN, cross_attention=True)


def sequence(length=LENGTH, seed=0):
    return tf.random.stateless_normal((BATCH, length, HIDDEN), (seed, 13))


def padding(length=LENGTH, real=(LENGTH, 4)):
    """`[BATCH, length]`, 1 at the first `real[b]` positions of row b."""
    return (np.arange(length)[None] < np.array(real)[:, None]).astype("int32")


def context_kwargs(config, seed=4):
    """The cross-attended sequence and its padding, for blocks that have
    cross-attention."""
    if not config.get("cross_attention"):
        return {}
    return {"context": sequence(CONTEXT_LENGTH, seed=seed),
            "context_padding_mask": padding(CONTEXT_LENGTH, real=(4, 3))}


def empty_cache(block, max_length):
    shape = (BATCH, block.num_key_value_heads, max_length,
             HIDDEN // block.num_heads)
    return tf.zeros(shape), tf.zeros(shape)


def composed(block, x, padding_mask=None, score_bias=None, context=None,
             context_padding_mask=None):
    """The block by hand from its sublayers."""
    def residual(x, sublayer, norm):
        if block.normalize_first:
            return x + sublayer(norm(x))
        return norm(x + sublayer(x))

    x = residual(x, lambda y: block.attention(
        y, padding_mask=padding_mask, score_bias=score_bias),
        block.attention_norm)
    if block.cross_attention_enabled:
        x = residual(x, lambda y: block.cross_attention(
            y, context=context, padding_mask=context_padding_mask),
            block.cross_attention_norm)
    return residual(x, block.feed_forward, block.feed_forward_norm)


CONFIGS = pytest.mark.parametrize(
    "config", [BERT, GPT2, MODERN, DECODER, POST_NORM_DECODER],
    ids=["bert", "gpt2", "modern", "decoder", "post_norm_decoder"])
CAUSAL_CONFIGS = pytest.mark.parametrize(
    "config", [GPT2, MODERN, dict(GPT2, normalize_first=False), DECODER,
               POST_NORM_DECODER],
    ids=["gpt2", "modern", "causal_post_norm", "decoder",
         "post_norm_decoder"])


# ------------------------------------------------------ shared checks --

@pytest.mark.parametrize(
    "block_class, config, call_kwargs",
    [
        (TransformerEncoderBlock, BERT, {}),
        (TransformerBlock, dict(BERT, normalize_first=True), {}),
        (TransformerBlock, dict(BERT, normalize_first=True),
         {"first_token_only": True}),
        (CausalDecoderBlock, GPT2, {}),
        (TransformerBlock, MODERN, {}),
        (TransformerBlock, dict(GPT2, normalize_first=False), {}),
    ],
    ids=["bert_alias", "pre_norm", "pre_norm_first_token", "gpt2_alias",
         "modern",
         "causal_post_norm"],
)
def test_shared_checks(block_class, config, call_kwargs):
    length = 1 if call_kwargs.get("first_token_only") else LENGTH
    run_layer_test(
        block_class, config, args=[sequence()],
        kwargs={"padding_mask": padding()}, call_kwargs=call_kwargs,
        expected_output_shape=(BATCH, length, HIDDEN),
    )


@pytest.mark.parametrize("config",
                         [DECODER, POST_NORM_DECODER, MODERN_DECODER],
                         ids=["decoder", "post_norm_decoder",
                              "modern_decoder"])
def test_shared_checks_cross_attention(config):
    bias = np.random.default_rng(0).normal(size=(1, HEADS, LENGTH, LENGTH))
    run_layer_test(
        TransformerBlock, dict(config, score_scale=1.0), args=[sequence()],
        kwargs={"padding_mask": padding(),
                "score_bias": bias.astype("float32"),
                **context_kwargs(config)},
        expected_output_shape=(BATCH, LENGTH, HIDDEN),
    )


def test_aliases_are_the_block_under_their_saved_names():
    for alias in (TransformerEncoderBlock, CausalDecoderBlock):
        assert issubclass(alias, TransformerBlock)
        block = alias(**GPT2)
        restored = keras.layers.deserialize(keras.layers.serialize(block))
        assert type(restored) is alias
        assert restored.get_config() == block.get_config()


# ----------------------------------------------------------- structure --

def test_sublayers_follow_the_config():
    blocks = {name: TransformerBlock(**config) for name, config in
              [("gpt2", GPT2), ("modern", MODERN), ("decoder", DECODER),
               ("modern_decoder", dict(MODERN_DECODER, score_scale=1.0))]}
    for name, block in blocks.items():
        block(sequence(), **context_kwargs(block.get_config()))
    gpt2, modern = blocks["gpt2"], blocks["modern"]
    assert isinstance(gpt2.attention_norm, keras.layers.LayerNormalization)
    assert isinstance(gpt2.feed_forward, FeedForward)
    assert gpt2.attention.causal and not gpt2.attention.rotary
    assert gpt2.attention.num_key_value_heads == HEADS
    assert not hasattr(gpt2, "cross_attention")
    assert isinstance(modern.attention_norm, RMSNormalization)
    assert isinstance(modern.feed_forward_norm, RMSNormalization)
    assert isinstance(modern.feed_forward, GatedFeedForward)
    assert modern.attention.rotary
    assert modern.attention.num_key_value_heads == 2
    assert not [v for v in modern.weights if "bias" in v.name]
    # Cross-attention: not causal, not rotary, the block's heads and scale.
    for name in ("decoder", "modern_decoder"):
        cross = blocks[name].cross_attention
        assert not cross.causal and not cross.rotary
        assert cross.num_key_value_heads == blocks[name].num_key_value_heads
        assert isinstance(blocks[name].cross_attention_norm,
                          type(blocks[name].attention_norm))
    modern_decoder = blocks["modern_decoder"]
    assert (modern_decoder.attention.score_scale
            == modern_decoder.cross_attention.score_scale == 1.0)
    assert blocks["decoder"].cross_attention.score_scale is None


@CONFIGS
def test_residual_structure_equals_the_sublayers_by_hand(config):
    block = TransformerBlock(**config)
    x, mask = sequence(), padding()
    bias = np.random.default_rng(1).normal(
        size=(BATCH, HEADS, LENGTH, LENGTH)).astype("float32")
    kwargs = dict(padding_mask=mask, score_bias=bias,
                  **context_kwargs(config))
    out = block(x, **kwargs).numpy()
    np.testing.assert_allclose(out, composed(block, x, **kwargs).numpy(),
                               atol=1e-5)
    assert not np.allclose(out, x.numpy(), atol=1e-2)


def test_post_and_pre_norm_differ():
    x, mask = sequence(), padding()
    outputs = []
    for normalize_first in (False, True):
        keras.utils.set_random_seed(7)
        block = TransformerBlock(**dict(BERT, normalize_first=normalize_first))
        outputs.append(block(x, padding_mask=mask).numpy())
    # Post-norm output is normalised per position; pre-norm output is not.
    np.testing.assert_allclose(outputs[0].mean(-1), 0.0, atol=1e-4)
    assert np.abs(outputs[1].mean(-1)).max() > 1e-2


def test_attention_dropout_defaults_to_dropout():
    block = TransformerBlock(**dict(DECODER, dropout=0.3))
    block(sequence(), **context_kwargs(DECODER))
    assert block.attention.dropout == block.cross_attention.dropout == 0.3
    block = TransformerBlock(**dict(DECODER, dropout=0.3,
                                    attention_dropout=0.0))
    block(sequence(), **context_kwargs(DECODER))
    assert block.attention.dropout == block.cross_attention.dropout == 0.0
    assert block.get_config()["attention_dropout"] == 0.0
    x = sequence(seed=1)
    np.testing.assert_allclose(
        block(x, training=False, **context_kwargs(DECODER)).numpy(),
        composed(block, x, **context_kwargs(DECODER)).numpy(), atol=1e-5)
    assert not np.allclose(
        block(x, training=True, **context_kwargs(DECODER)).numpy(),
        block(x, training=False, **context_kwargs(DECODER)).numpy())


# ------------------------------------------------------------- masking --

@pytest.mark.parametrize("normalize_first", [False, True])
def test_padding_does_not_leak(normalize_first):
    block = TransformerBlock(**dict(BERT, normalize_first=normalize_first))
    x, mask = sequence().numpy(), padding()
    changed = x.copy()
    changed[1, 4:] = 55.0
    out = block(x, padding_mask=mask).numpy()
    out_changed = block(changed, padding_mask=mask).numpy()
    np.testing.assert_allclose(out[1, :4], out_changed[1, :4], atol=1e-5)
    np.testing.assert_allclose(out[0], out_changed[0], atol=1e-6)
    # Unmasked, the same change reaches every position.
    assert not np.allclose(block(changed).numpy()[1, :4], out[1, :4],
                           atol=1e-3)


@pytest.mark.parametrize("config", [DECODER, MODERN_DECODER],
                         ids=["decoder", "modern_decoder"])
def test_context_padding_does_not_leak(config):
    block = TransformerBlock(**config)
    x = sequence()
    kwargs = context_kwargs(config)
    out = block(x, **kwargs).numpy()
    context = kwargs["context"].numpy()
    padded = context.copy()
    padded[1, 3:] = 40.0  # row 1 has 3 real context positions
    out_padded = block(x, **dict(kwargs, context=padded)).numpy()
    np.testing.assert_allclose(out_padded, out, atol=1e-5)
    real = context.copy()
    real[1, :3] = 40.0
    out_real = block(x, **dict(kwargs, context=real)).numpy()
    np.testing.assert_allclose(out_real[0], out[0], atol=1e-6)
    assert not np.allclose(out_real[1], out[1], atol=1e-3)


@CAUSAL_CONFIGS
def test_future_tokens_do_not_change_earlier_outputs(config):
    block = TransformerBlock(**config)
    x = sequence().numpy()
    changed = x.copy()
    changed[:, 3:] = -4.0
    kwargs = context_kwargs(config)
    out = block(x, **kwargs).numpy()
    out_changed = block(changed, **kwargs).numpy()
    np.testing.assert_allclose(out[:, :3], out_changed[:, :3], atol=1e-5)
    assert not np.allclose(out[:, 3:], out_changed[:, 3:], atol=1e-3)
    # The same block without causal=True sees the future.
    both_ways = TransformerBlock(**dict(config, causal=False))
    both_ways(x, **kwargs)
    both_ways.set_weights(block.get_weights())
    assert not np.allclose(both_ways(x, **kwargs).numpy()[:, :3],
                           both_ways(changed, **kwargs).numpy()[:, :3],
                           atol=1e-3)


# ---------------------------------------------------- first_token_only --

@pytest.mark.parametrize(
    "config",
    [BERT, dict(BERT, normalize_first=True), dict(GPT2, normalize_first=False),
     GPT2],
    ids=["post_norm", "pre_norm", "causal_post_norm", "causal_pre_norm"],
)
def test_first_token_only_equals_full_first_position(config):
    block = TransformerBlock(**config)
    x, mask = sequence(), padding(real=(LENGTH, 3))
    full = block(x, padding_mask=mask).numpy()
    first = block(x, padding_mask=mask, first_token_only=True).numpy()
    assert first.shape == (BATCH, 1, HIDDEN)
    np.testing.assert_allclose(first, full[:, :1], atol=1e-5)


def test_first_token_only_with_score_bias():
    block = TransformerBlock(**BERT)
    x, mask = sequence(), padding()
    bias = np.random.default_rng(2).normal(
        0, 2, (BATCH, HEADS, LENGTH, LENGTH)).astype("float32")
    full = block(x, padding_mask=mask, score_bias=bias).numpy()
    first = block(x, padding_mask=mask, score_bias=bias,
                  first_token_only=True).numpy()
    np.testing.assert_allclose(first, full[:, :1], atol=1e-5)
    assert not np.allclose(first, block(x, padding_mask=mask).numpy()[:, :1],
                           atol=1e-3)


# ------------------------------------------------ score_bias and scale --

@pytest.mark.parametrize("config", [BERT, MODERN], ids=["bert", "modern"])
def test_score_bias_both_ways(config):
    block = TransformerBlock(**config)
    x, mask = sequence(), padding(real=(3, 5))
    plain = block(x, padding_mask=mask).numpy()
    zero = np.zeros((1, HEADS, LENGTH, LENGTH), "float32")
    np.testing.assert_allclose(
        block(x, padding_mask=mask, score_bias=zero).numpy(), plain,
        atol=1e-6)
    # A bias of MASKED_SCORE at padded keys is the padding mask.
    masking = np.broadcast_to(
        np.where(mask[:, None, None] == 1, 0.0, MASKED_SCORE),
        (BATCH, HEADS, LENGTH, LENGTH)).astype("float32")
    np.testing.assert_allclose(block(x, score_bias=masking).numpy(), plain,
                               atol=1e-5)
    random = np.random.default_rng(3).normal(
        0, 2, (1, HEADS, LENGTH, LENGTH)).astype("float32")
    assert not np.allclose(
        block(x, padding_mask=mask, score_bias=random).numpy(), plain,
        atol=1e-3)


def test_score_scale_reaches_both_attentions():
    default = TransformerBlock(**DECODER)
    unscaled = TransformerBlock(**dict(DECODER, score_scale=1.0))
    x, kwargs = sequence(), context_kwargs(DECODER)
    default(x, **kwargs)
    unscaled(x, **kwargs)
    unscaled.set_weights(default.get_weights())
    out = unscaled(x, **kwargs).numpy()
    np.testing.assert_allclose(out, composed(unscaled, x, **kwargs).numpy(),
                               atol=1e-5)
    assert not np.allclose(out, default(x, **kwargs).numpy(), atol=1e-3)


# ---------------------------------------------------- cross-attention --

@pytest.mark.parametrize("config", [DECODER, POST_NORM_DECODER,
                                    MODERN_DECODER],
                         ids=["decoder", "post_norm", "modern"])
def test_context_cache_equals_context(config):
    block = TransformerBlock(**config)
    x, kwargs = sequence(), context_kwargs(config)
    direct = block(x, padding_mask=padding(), **kwargs).numpy()
    context = kwargs.pop("context")
    context_cache = block.cross_attention.project_context(context)
    cached = block(x, padding_mask=padding(), context_cache=context_cache,
                   **kwargs).numpy()
    np.testing.assert_allclose(cached, direct, atol=1e-5)


# ---------------------------------------------------- cached decoding --

@pytest.mark.parametrize(
    "config, prompt_length, jit_compile",
    [(GPT2, 3, False), (MODERN, 3, False), (MODERN, 1, False),
     (dict(GPT2, normalize_first=False), 2, False), (MODERN, 3, True)],
    ids=["gpt2", "modern", "modern_token_by_token", "post_norm", "modern_xla"],
)
def test_cached_decoding_equals_full_pass(config, prompt_length,
                                          jit_compile):
    block = TransformerBlock(**config)
    run_cached_decoding_test(
        block,
        lambda x, cache, index: block(x, cache=cache, cache_index=index),
        sequence(seed=3),
        empty_cache(block, LENGTH + 2),
        prompt_length=prompt_length,
        jit_compile=jit_compile,
    )


@pytest.mark.parametrize(
    "config, context_form, prompt_length, jit_compile",
    [
        (DECODER, "context_cache", 1, False),
        (DECODER, "context", 1, False),
        (POST_NORM_DECODER, "context_cache", 1, False),
        (POST_NORM_DECODER, "context", 2, False),
        (MODERN_DECODER, "context_cache", 3, False),
        (DECODER, "context_cache", 2, True),
    ],
    ids=["pre_norm_context_cache", "pre_norm_context",
         "post_norm_context_cache", "post_norm_context",
         "modern_context_cache", "pre_norm_context_cache_xla"],
)
def test_cross_attention_cached_decoding_equals_full_pass(
        config, context_form, prompt_length, jit_compile):
    block = TransformerBlock(**config)
    x, kwargs = sequence(seed=5), context_kwargs(config, seed=6)

    def forward(inputs):
        return block(inputs, **kwargs)

    forward(x)  # builds the block
    if context_form == "context_cache":
        # Projected once, then read at every step.
        step_kwargs = dict(kwargs, context_cache=(
            block.cross_attention.project_context(kwargs["context"])))
        del step_kwargs["context"]
    else:
        step_kwargs = kwargs
    run_cached_decoding_test(
        forward,
        lambda x, cache, index: block(x, cache=cache, cache_index=index,
                                      **step_kwargs),
        x,
        empty_cache(block, LENGTH + 2),
        prompt_length=prompt_length,
        jit_compile=jit_compile,
    )


# ------------------------------------------------------------- errors --

def test_cross_attention_needs_a_context():
    block = TransformerBlock(**DECODER)
    with pytest.raises(ValueError, match=r"A TransformerBlock with "
                                         r"cross_attention=True needs a "
                                         r"context \(or a context_cache\)"):
        block(sequence())


def test_cache_index_needs_a_cache():
    block = TransformerBlock(**GPT2)
    with pytest.raises(ValueError, match="cache_index is where a cache is "
                                         "written: pass the cache too"):
        block(sequence(), cache_index=0)


def test_bad_names_are_errors():
    with pytest.raises(
        ValueError,
        match=r"normalization must be one of \('layer_norm', 'rms_norm'\), "
              r"got 'batch_norm'\.",
    ):
        TransformerBlock(2, 8, normalization="batch_norm")
    with pytest.raises(
        ValueError,
        match=r"feed_forward must be one of \('mlp', 'gated'\), got "
              r"'geglu'\.",
    ):
        TransformerBlock(2, 8, feed_forward="geglu")
    with pytest.raises(
        ValueError,
        match=r"normalization must be one of \('layer_norm', 'rms_norm'\), "
              r"got 'group_norm'\.",
    ):
        normalization_layer("group_norm", 1e-6, None, "norm")


def test_heads_must_divide_hidden():
    message = (r"hidden_dim \(32\) must be divisible by num_heads \(3\); "
               r"pick e\.g\. num_heads=2\.")
    with pytest.raises(ValueError, match=message):
        TransformerBlock(3, 8)(tf.zeros((1, 2, 32)))
    with pytest.raises(ValueError, match=message):
        check_heads_divide_hidden(32, 3)
    check_heads_divide_hidden(32, 4)  # divides: no error


# ------------------------------------------------- T5's block options --

T5_DECODER = {"num_heads": 3, "intermediate_dim": 40, "causal": True,
              "cross_attention": True, "normalize_first": True,
              "normalization": "rms_norm", "feed_forward": "mlp",
              "activation": "relu", "score_scale": 1.0, "use_bias": False,
              "layer_norm_epsilon": 1e-6, "head_dim": 8}


def test_head_dim_both_ways():
    # Default: hidden // heads. Given: any width, even when heads do not
    # divide the hidden size (T5 v1.1 small: 6 heads of 64 on 512).
    default = TransformerBlock(**GPT2)
    default(sequence())
    assert default.attention.head_dim == HIDDEN // HEADS
    assert default.get_config()["head_dim"] is None
    wide = TransformerBlock(**dict(GPT2, num_heads=3, head_dim=16))
    assert wide(sequence()).shape == (BATCH, LENGTH, HIDDEN)
    assert wide.attention.head_dim == 16
    assert wide.attention.qkv_kernel.shape == (HIDDEN, 3 * 3 * 16)
    assert wide.attention.output_kernel.shape == (3 * 16, HIDDEN)
    assert TransformerBlock.from_config(wide.get_config()).head_dim == 16
    with pytest.raises(ValueError, match="head_dim must be positive"):
        TransformerBlock(2, 8, head_dim=0)


@pytest.mark.parametrize("feed_forward, activation",
                         [("mlp", "relu"), ("gated", "gelu_approximate")],
                         ids=["t5", "t5_v1_1"])
def test_t5_block_has_no_biases_and_its_sublayers(feed_forward, activation):
    config = dict(T5_DECODER, feed_forward=feed_forward,
                  activation=activation)
    run_layer_test(
        TransformerBlock, config, args=[sequence()],
        kwargs={"padding_mask": padding(), **context_kwargs(config)},
        expected_output_shape=(BATCH, LENGTH, HIDDEN),
        check_mixed_precision=False,
    )
    block = TransformerBlock(**config)
    block(sequence(), **context_kwargs(config))
    assert not [v.path for v in block.weights if "bias" in v.path]
    assert isinstance(block.feed_forward,
                      GatedFeedForward if feed_forward == "gated"
                      else FeedForward)
    assert block.feed_forward.activation.__name__ == activation


def test_mlp_use_bias_both_ways():
    with_bias = FeedForward(16)
    with_bias(tf.zeros((1, 2, 8)))
    without = FeedForward(16, use_bias=False, activation="relu")
    out = without(tf.ones((1, 2, 8)))
    assert len(with_bias.weights) == 4 and len(without.weights) == 2
    kernel_in, kernel_out = (w.numpy() for w in without.weights)
    expected = np.maximum(np.ones((2, 8)) @ kernel_in, 0) @ kernel_out
    np.testing.assert_allclose(out.numpy()[0], expected, atol=1e-5)
    assert FeedForward.from_config(without.get_config()).use_bias is False


def test_feed_forward_dropout_both_ways():
    x = sequence()
    for feed_forward in ("mlp", "gated"):
        default = TransformerBlock(**dict(GPT2, feed_forward=feed_forward))
        default(x)
        assert default.feed_forward.dropout == 0.0
        assert default.get_config()["feed_forward_dropout"] == 0.0
        block = TransformerBlock(**dict(GPT2, feed_forward=feed_forward,
                                        feed_forward_dropout=0.5))
        inference = block(x).numpy()
        assert block.feed_forward.dropout == 0.5
        # Only the feed-forward drops: training differs, inference equals
        # the block without dropout.
        assert not np.allclose(block(x, training=True).numpy(), inference)
        default.set_weights(block.get_weights()[:len(default.get_weights())])
        np.testing.assert_allclose(default(x).numpy(), inference, atol=1e-6)
        assert TransformerBlock.from_config(
            block.get_config()).feed_forward_dropout == 0.5
