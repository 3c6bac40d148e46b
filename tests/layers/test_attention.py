"""Tests of `Attention`, the one attention layer: what the removed
`MultiHeadAttention` and `CausalSelfAttention` were tested for, in the new
API, and the arguments the merge added (`score_scale`, `score_bias`,
`context` and the read-only cache of `project_context`)."""

import numpy as np
import pytest
import tensorflow as tf

from tests.harness import (
    run_cached_decoding_test,
    run_layer_test,
)
from tfzoo.layers import Attention
from tfzoo.layers.attention import MASKED_SCORE, attention_mask

BATCH, LENGTH, HEADS, HEAD_DIM = 2, 6, 4, 8
HIDDEN = 32


def sequence(length=LENGTH, seed=0):
    return tf.random.stateless_normal((BATCH, length, HIDDEN), (seed, 11))


def padding(length=LENGTH, real=(LENGTH, 4)):
    """`[BATCH, length]`, 1 at the first `real[b]` positions of row b."""
    return (np.arange(length)[None] < np.array(real)[:, None]).astype("int32")


def numpy_rotary(x, base, start=0):
    """Rotate-half RoPE on `[batch, length, heads, head_dim]`."""
    half = x.shape[-1] // 2
    positions = np.arange(start, start + x.shape[1])[:, None]
    angles = positions * base ** (-2.0 * np.arange(half) / x.shape[-1])
    cos, sin = np.cos(angles)[None, :, None], np.sin(angles)[None, :, None]
    first, second = x[..., :half], x[..., half:]
    return np.concatenate([first * cos - second * sin,
                           second * cos + first * sin], -1)


def numpy_attention(layer, x, context=None, padding_mask=None,
                    score_bias=None, score_scale=None):
    """Plain multi-head attention in float64, key/value heads repeated:
    query head h reads key/value head h // (heads // kv_heads). Scores are
    scaled by `score_scale`, default `head_dim ** -0.5`."""
    x = np.asarray(x, "float64")
    source = x if context is None else np.asarray(context, "float64")
    weights = {v.name: np.asarray(v, "float64") for v in layer.weights}
    heads, kv_heads, dim = (layer.num_heads, layer.num_key_value_heads,
                            layer.head_dim)
    kernel = weights["qkv_kernel"]
    bias = weights.get("qkv_bias", np.zeros(kernel.shape[1]))
    batch, query_length = x.shape[:2]
    key_length = source.shape[1]
    q = (x @ kernel[:, :heads * dim] + bias[:heads * dim]).reshape(
        batch, query_length, heads, dim)
    key_value = source @ kernel[:, heads * dim:] + bias[heads * dim:]
    k = key_value[..., :kv_heads * dim].reshape(batch, key_length, kv_heads,
                                                dim)
    v = key_value[..., kv_heads * dim:].reshape(batch, key_length, kv_heads,
                                                dim)
    if layer.rotary:
        q = numpy_rotary(q, layer.rotary_base)
        k = numpy_rotary(k, layer.rotary_base)
    k = np.repeat(k, heads // kv_heads, axis=2)
    v = np.repeat(v, heads // kv_heads, axis=2)
    scale = dim ** -0.5 if score_scale is None else score_scale
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) * scale
    if score_bias is not None:
        scores = scores + np.asarray(score_bias, "float64")
    allowed = np.ones((1, 1, query_length, key_length), bool)
    if layer.causal:
        allowed = allowed & np.tril(allowed)
    if padding_mask is not None:
        allowed = allowed & np.asarray(padding_mask, bool)[:, None, None]
    scores = np.where(allowed, scores, MASKED_SCORE)
    probabilities = np.exp(scores - scores.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    attended = np.einsum("bhqk,bkhd->bqhd", probabilities, v).reshape(
        batch, query_length, heads * dim)
    out = attended @ weights["output_kernel"]
    if layer.use_bias:
        out = out + weights["output_bias"]
    return out


def randomised(layer, seed=0):
    """Builds `layer` and gives every weight (biases too) random values."""
    layer(sequence())
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(rng.normal(0, 0.3, variable.shape).astype("float32"))
    return layer


def copy_weights(layer, like):
    layer(sequence())
    layer.set_weights(like.get_weights())
    return layer


def empty_cache(layer, max_length):
    shape = (BATCH, layer.num_key_value_heads, max_length, layer.head_dim)
    return tf.zeros(shape), tf.zeros(shape)


def assert_close(actual, expected, atol=1e-4):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected),
                               rtol=atol, atol=atol)


# ------------------------------------------------------ shared checks --

@pytest.mark.parametrize(
    "config",
    [
        {"num_heads": HEADS, "head_dim": HEAD_DIM, "causal": True},
        {"num_heads": HEADS, "head_dim": HEAD_DIM, "num_key_value_heads": 2,
         "causal": True, "rotary": True, "use_bias": False},
    ],
    ids=["causal", "gqa_rotary_bias_free"],
)
def test_shared_checks_self_attention(config):
    mask = padding()
    run_layer_test(
        Attention, config, args=[sequence()],
        kwargs={"padding_mask": mask},
        expected_output_shape=(BATCH, LENGTH, HIDDEN),
    )


def test_shared_checks_cross_attention_with_score_scale_and_bias():
    # head_dim * num_heads need not equal the hidden size.
    bias = np.random.default_rng(0).normal(size=(1, HEADS, 3, 7))
    run_layer_test(
        Attention,
        {"num_heads": HEADS, "head_dim": 6, "num_key_value_heads": 2,
         "score_scale": 1.0},
        args=[sequence(3)],
        kwargs={"context": sequence(7, seed=1),
                "padding_mask": padding(7, real=(7, 5)),
                "score_bias": bias.astype("float32")},
        expected_output_shape=(BATCH, 3, HIDDEN),
    )


# ------------------------------------------------ against NumPy --------

@pytest.mark.parametrize(
    "kv_heads, rotary, use_bias, causal",
    [(HEADS, False, True, True), (2, True, False, True),
     (1, False, True, True), (1, True, True, True),
     (HEADS, False, True, False), (2, True, True, False)],
)
def test_equals_numpy_attention_with_repeated_key_value_heads(
        kv_heads, rotary, use_bias, causal):
    layer = randomised(
        Attention(HEADS, HEAD_DIM, num_key_value_heads=kv_heads,
                  causal=causal, rotary=rotary, use_bias=use_bias),
        seed=kv_heads,
    )
    x = sequence(seed=1)
    assert_close(layer(x), numpy_attention(layer, x))


@pytest.mark.parametrize("causal", [True, False])
def test_padding_mask_equals_numpy_and_hides_padded_keys(causal):
    layer = randomised(
        Attention(HEADS, HEAD_DIM, num_key_value_heads=2, causal=causal,
                  rotary=True), seed=3)
    x = sequence(seed=2).numpy()
    mask = np.ones((BATCH, LENGTH), "int32")
    mask[0, 3:] = 0
    mask[1, 1] = 0
    out = layer(x, padding_mask=mask).numpy()
    assert_close(out, numpy_attention(layer, x, padding_mask=mask))
    changed = x.copy()
    changed[0, 3:] = 5.0
    changed[1, 1] = -5.0
    changed_out = layer(changed, padding_mask=mask).numpy()
    # Real queries never see the padded keys...
    np.testing.assert_allclose(changed_out[0, :3], out[0, :3], atol=1e-5)
    np.testing.assert_allclose(changed_out[1, 2:], out[1, 2:], atol=1e-5)
    # ...and the mask is all that hides them.
    assert not np.allclose(layer(changed).numpy()[1, 2:], out[1, 2:],
                           atol=1e-3)


def test_padded_keys_do_not_change_real_outputs():
    layer = Attention(HEADS, HEAD_DIM)
    x = sequence().numpy()
    mask = np.ones((BATCH, LENGTH), "int32")
    mask[:, 4:] = 0
    changed = x.copy()
    changed[:, 4:] = 100.0
    out = layer(x, padding_mask=mask).numpy()
    out_changed = layer(changed, padding_mask=mask).numpy()
    np.testing.assert_allclose(out[:, :4], out_changed[:, :4], atol=1e-5)
    # The padded positions are queries too: their own outputs change.
    assert not np.allclose(out[:, 4:], out_changed[:, 4:])


@pytest.mark.parametrize("kv_heads, rotary", [(HEADS, False), (2, True)],
                         ids=["plain", "gqa_rotary"])
def test_causal_hides_the_future(kv_heads, rotary):
    x = sequence().numpy()
    changed = x.copy()
    changed[:, 3:] = -7.0
    causal = Attention(HEADS, HEAD_DIM, num_key_value_heads=kv_heads,
                       causal=True, rotary=rotary)
    out, out_changed = causal(x).numpy(), causal(changed).numpy()
    np.testing.assert_allclose(out[:, :3], out_changed[:, :3], atol=1e-5)
    assert not np.allclose(out[:, 3:], out_changed[:, 3:], atol=1e-3)
    # Without causal=True (same weights) every position sees the change.
    both_ways = copy_weights(
        Attention(HEADS, HEAD_DIM, num_key_value_heads=kv_heads,
                  rotary=rotary), causal)
    assert not np.allclose(both_ways(x).numpy()[:, :3],
                           both_ways(changed).numpy()[:, :3], atol=1e-3)


def test_attention_mask_equals_numpy():
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]])
    assert attention_mask(3, 5) is None
    np.testing.assert_array_equal(
        attention_mask(3, 5, padding_mask=mask).numpy(),
        mask[:, None, :].astype(bool))
    causal = np.arange(3)[:, None] + 2 >= np.arange(5)[None]
    np.testing.assert_array_equal(
        attention_mask(3, 5, causal=True, start_index=2).numpy(),
        causal[None])
    np.testing.assert_array_equal(
        attention_mask(3, 5, mask, causal=True, start_index=2).numpy(),
        causal[None] & mask[:, None, :].astype(bool))


# --------------------------------------------------------- score_scale --

@pytest.mark.parametrize("score_scale", [None, 1.0, 0.05])
@pytest.mark.parametrize("kv_heads", [HEADS, 2])
def test_score_scale_equals_numpy(score_scale, kv_heads):
    layer = randomised(
        Attention(HEADS, HEAD_DIM, num_key_value_heads=kv_heads, causal=True,
                  score_scale=score_scale), seed=8)
    x = sequence(seed=9)
    assert_close(layer(x), numpy_attention(layer, x,
                                           score_scale=score_scale))


def test_default_score_scale_is_inverse_square_root_of_head_dim():
    default = randomised(Attention(HEADS, HEAD_DIM), seed=10)
    explicit = copy_weights(
        Attention(HEADS, HEAD_DIM, score_scale=HEAD_DIM ** -0.5), default)
    unscaled = copy_weights(Attention(HEADS, HEAD_DIM, score_scale=1.0),
                            default)
    x = sequence(seed=11)
    out = default(x).numpy()
    np.testing.assert_allclose(explicit(x).numpy(), out, atol=1e-6)
    assert not np.allclose(unscaled(x).numpy(), out, atol=1e-3)
    assert default.get_config()["score_scale"] is None
    assert unscaled.get_config()["score_scale"] == 1.0


# ---------------------------------------------------------- score_bias --

@pytest.mark.parametrize("bias_batch", [1, BATCH])
@pytest.mark.parametrize("kv_heads, rotary", [(HEADS, False), (2, True),
                                              (1, False)])
def test_score_bias_equals_numpy(bias_batch, kv_heads, rotary):
    layer = randomised(
        Attention(HEADS, HEAD_DIM, num_key_value_heads=kv_heads, causal=True,
                  rotary=rotary), seed=12)
    x, mask = sequence(seed=13), padding()
    # Different in every head, so a head mixed up under GQA shows.
    bias = np.random.default_rng(kv_heads).normal(
        0, 2, (bias_batch, HEADS, LENGTH, LENGTH)).astype("float32")
    out = layer(x, padding_mask=mask, score_bias=bias).numpy()
    assert_close(out, numpy_attention(layer, x, padding_mask=mask,
                                      score_bias=bias))
    # Both uses: no bias, or a zero one, is plain attention.
    plain = layer(x, padding_mask=mask).numpy()
    assert not np.allclose(out, plain, atol=1e-3)
    zero = np.zeros((1, HEADS, LENGTH, LENGTH), "float32")
    np.testing.assert_allclose(
        layer(x, padding_mask=mask, score_bias=zero).numpy(), plain,
        atol=1e-6)


def test_cross_attention_score_bias_equals_numpy():
    layer = randomised(Attention(HEADS, HEAD_DIM, num_key_value_heads=2),
                       seed=14)
    x, context = sequence(3, seed=15), sequence(7, seed=16)
    mask = padding(7, real=(7, 5))
    bias = np.random.default_rng(1).normal(
        0, 2, (BATCH, HEADS, 3, 7)).astype("float32")
    out = layer(x, context=context, padding_mask=mask, score_bias=bias)
    assert_close(out, numpy_attention(layer, x, context, mask, bias))


def test_masking_score_bias_equals_padding_mask():
    layer = randomised(Attention(HEADS, HEAD_DIM, num_key_value_heads=2),
                       seed=17)
    x, mask = sequence(seed=18), padding(real=(3, 5))
    bias = np.where(mask[:, None, None, :] == 1, 0.0,
                    MASKED_SCORE).astype("float32")
    bias = np.broadcast_to(bias, (BATCH, HEADS, LENGTH, LENGTH))
    np.testing.assert_allclose(layer(x, score_bias=bias).numpy(),
                               layer(x, padding_mask=mask).numpy(),
                               atol=1e-6)


# ------------------------------------------------------- cross-attention --

@pytest.mark.parametrize("kv_heads", [HEADS, 2])
def test_cross_attention_equals_numpy(kv_heads):
    layer = randomised(
        Attention(HEADS, HEAD_DIM, num_key_value_heads=kv_heads), seed=19)
    x, context = sequence(3, seed=20), sequence(7, seed=21)
    mask = padding(7, real=(7, 4))
    out = layer(x, context=context, padding_mask=mask)
    assert out.shape == (BATCH, 3, HIDDEN)
    assert_close(out, numpy_attention(layer, x, context, mask))


@pytest.mark.parametrize("kv_heads", [HEADS, 2])
def test_read_only_cache_from_project_context_equals_context(kv_heads):
    layer = randomised(
        Attention(HEADS, HEAD_DIM, num_key_value_heads=kv_heads), seed=22)
    query, context = sequence(3, seed=23), sequence(7, seed=24)
    mask = padding(7, real=(7, 4))
    direct = layer(query, context=context, padding_mask=mask).numpy()

    keys, values = layer.project_context(context)
    assert keys.shape == values.shape == (BATCH, kv_heads, 7, HEAD_DIM)
    cached, (read_keys, read_values) = layer(
        query, cache=(keys, values), padding_mask=mask)
    np.testing.assert_allclose(cached.numpy(), direct, atol=1e-5)
    # Read, never written.
    np.testing.assert_array_equal(read_keys.numpy(), keys.numpy())
    np.testing.assert_array_equal(read_values.numpy(), values.numpy())
    # Decoding: one query at a time over the same cache.
    steps = [layer(query[:, i:i + 1], cache=(keys, values),
                   padding_mask=mask)[0].numpy() for i in range(3)]
    np.testing.assert_allclose(np.concatenate(steps, 1), direct, atol=1e-5)


# ---------------------------------------------------- cached decoding --

@pytest.mark.parametrize(
    "kv_heads, rotary, prompt_length, jit_compile",
    [
        (HEADS, False, 2, False),  # a prompt of two, then steps
        (HEADS, False, LENGTH - 1, False),
        (2, True, LENGTH - 1, False),
        (1, True, LENGTH - 1, False),
        (2, True, 1, False),  # token by token
        (HEADS, False, LENGTH - 1, True),
        (2, True, LENGTH - 1, True),
        (1, True, LENGTH - 1, True),
        (2, True, 2, True),
    ],
)
def test_cached_decoding_equals_full_pass(kv_heads, rotary, prompt_length,
                                          jit_compile):
    layer = randomised(
        Attention(HEADS, HEAD_DIM, num_key_value_heads=kv_heads, causal=True,
                  rotary=rotary), seed=4)
    run_cached_decoding_test(
        layer,
        lambda x, cache, index: layer(x, cache=cache, cache_index=index),
        sequence(seed=5),
        # Longer than the sequence: the zero slots beyond must not leak.
        empty_cache(layer, LENGTH + 3),
        prompt_length=prompt_length,
        jit_compile=jit_compile,
    )


def test_cached_decoding_with_score_scale_and_bias_free():
    layer = randomised(
        Attention(HEADS, HEAD_DIM, num_key_value_heads=2, causal=True,
                  score_scale=1.0, use_bias=False), seed=25)
    assert not [v for v in layer.weights if "bias" in v.name]
    run_cached_decoding_test(
        layer,
        lambda x, cache, index: layer(x, cache=cache, cache_index=index),
        sequence(seed=26), empty_cache(layer, LENGTH), prompt_length=3)


def test_gqa_cache_is_smaller():
    layer = Attention(HEADS, HEAD_DIM, num_key_value_heads=1, causal=True)
    layer(sequence())
    assert layer.qkv_kernel.shape == (HIDDEN, (HEADS + 2) * HEAD_DIM)
    cache = (tf.zeros((BATCH, 1, 10, HEAD_DIM)),) * 2
    _, (keys, values) = layer(sequence(1), cache=cache, cache_index=0)
    assert keys.shape == values.shape == (BATCH, 1, 10, HEAD_DIM)


# ---------------------------------------------- precision and dropout --

def test_mixed_precision_is_close_to_float32_and_caches_in_bfloat16():
    full = randomised(Attention(HEADS, HEAD_DIM, num_key_value_heads=2,
                                causal=True, rotary=True), seed=27)
    mixed = copy_weights(
        Attention(HEADS, HEAD_DIM, num_key_value_heads=2, causal=True,
                  rotary=True, dtype="mixed_bfloat16"), full)
    x = sequence(seed=28)
    out = mixed(x)
    assert out.dtype == tf.bfloat16
    assert all(v.dtype == "float32" for v in mixed.weights)
    np.testing.assert_allclose(np.asarray(tf.cast(out, "float32")),
                               full(x).numpy(), atol=0.1)
    cache = tuple(tf.cast(t, "bfloat16") for t in empty_cache(mixed, 4))
    step, (keys, values) = mixed(x[:, :1], cache=cache, cache_index=0)
    assert step.dtype == keys.dtype == values.dtype == tf.bfloat16


def test_attention_dropout_only_in_training():
    layer = randomised(Attention(HEADS, HEAD_DIM, dropout=0.5), seed=29)
    plain = copy_weights(Attention(HEADS, HEAD_DIM), layer)
    x = sequence(seed=30)
    np.testing.assert_allclose(layer(x, training=False).numpy(),
                               plain(x).numpy(), atol=1e-6)
    assert not np.allclose(layer(x, training=True).numpy(),
                           plain(x).numpy(), atol=1e-3)


# -------------------------------------------------------- old layouts --

def test_loads_weights_saved_in_the_old_multi_head_layout():
    layer = randomised(Attention(HEADS, HEAD_DIM), seed=31)
    kernel, output_kernel, bias, output_bias = layer.get_weights()
    # MultiHeadAttention's shapes, in its variable order.
    old = {
        "0": kernel.reshape(HIDDEN, 3, HEADS, HEAD_DIM),
        "1": output_kernel.reshape(HEADS, HEAD_DIM, HIDDEN),
        "2": bias.reshape(3, HEADS, HEAD_DIM),
        "3": output_bias,
    }
    fresh = Attention(HEADS, HEAD_DIM)
    fresh(sequence())
    fresh.load_own_variables(old)
    x = sequence(seed=32)
    np.testing.assert_array_equal(fresh(x).numpy(), layer(x).numpy())


# ------------------------------------------------------------ errors --

def test_rejects_non_positive_heads():
    with pytest.raises(ValueError, match=r"num_heads and head_dim must be "
                                         r"positive, got num_heads=0, "
                                         r"head_dim=4\."):
        Attention(num_heads=0, head_dim=4)
    with pytest.raises(ValueError, match="head_dim=0"):
        Attention(num_heads=2, head_dim=0)


def test_bad_num_key_value_heads():
    with pytest.raises(
        ValueError,
        match=r"num_heads \(4\) must be a multiple of num_key_value_heads "
              r"\(3\)\.",
    ):
        Attention(num_heads=4, head_dim=8, num_key_value_heads=3)


def test_cache_index_needs_a_cache():
    # A cache without cache_index is read as it is (see the read-only cache
    # test); cache_index alone has nothing to write into.
    layer = Attention(HEADS, HEAD_DIM, causal=True)
    with pytest.raises(ValueError, match="cache_index is where a cache is "
                                         "written: pass the cache too"):
        layer(sequence(), cache_index=0)


def test_rotary_is_self_attention_only():
    layer = Attention(HEADS, HEAD_DIM, rotary=True)
    with pytest.raises(ValueError,
                       match="Rotary attention is self-attention only."):
        layer(sequence(3), context=sequence(5))
    keys, values = layer.project_context(sequence(5))
    with pytest.raises(ValueError,
                       match="Rotary attention is self-attention only."):
        layer(sequence(3), cache=(keys, values))


def test_rotary_odd_head_dim_is_an_error():
    layer = Attention(2, 5, rotary=True)
    with pytest.raises(ValueError, match="even head_dim, got 5"):
        layer(tf.zeros((1, 3, 10)))


def test_a_written_cache_without_causal_masking_sees_only_written_slots():
    """Non-causal attention over a written cache attends to the positions
    written so far, not to the zero slots after them."""
    layer = Attention(2, 4)
    x = tf.random.stateless_normal((1, 3, 8), seed=(1, 2))
    full = layer(x)
    cache = (tf.zeros((1, 2, 6, 4)), tf.zeros((1, 2, 6, 4)))
    cached, _ = layer(x, cache=cache, cache_index=0)
    np.testing.assert_allclose(cached.numpy(), full.numpy(), atol=1e-5)
