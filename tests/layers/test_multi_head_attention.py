import numpy as np
import pytest
import tensorflow as tf

from tests.harness import run_layer_test
from tfzoo.layers import MultiHeadAttention

BATCH, LENGTH, HIDDEN, HEADS = 2, 6, 16, 4


def random_sequence(length=LENGTH, seed=0):
    return tf.random.stateless_normal((BATCH, length, HIDDEN), (seed, 1))


def test_shared_checks_self_attention():
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": HEADS, "head_dim": HIDDEN // HEADS},
        args=[random_sequence()],
        kwargs={"attention_mask": np.ones((BATCH, LENGTH), "int32")},
        call_kwargs={"use_causal_mask": True},
        expected_output_shape=(BATCH, LENGTH, HIDDEN),
    )


def test_shared_checks_cross_attention():
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": HEADS, "head_dim": 8},
        args=[random_sequence(3)],
        kwargs={"value": random_sequence(7, seed=1)},
        expected_output_shape=(BATCH, 3, HIDDEN),
    )


def test_padded_keys_do_not_change_real_outputs():
    layer = MultiHeadAttention(HEADS, HIDDEN // HEADS)
    x = random_sequence().numpy()
    mask = np.ones((BATCH, LENGTH), "int32")
    mask[:, 4:] = 0
    changed = x.copy()
    changed[:, 4:] = 100.0
    out = layer(x, attention_mask=mask).numpy()
    out_changed = layer(changed, attention_mask=mask).numpy()
    np.testing.assert_allclose(out[:, :4], out_changed[:, :4], atol=1e-5)
    assert not np.allclose(out[:, 4:], out_changed[:, 4:])


def test_causal_mask_hides_the_future():
    layer = MultiHeadAttention(HEADS, HIDDEN // HEADS)
    x = random_sequence().numpy()
    changed = x.copy()
    changed[:, 3:] = -7.0
    out = layer(x, use_causal_mask=True).numpy()
    out_changed = layer(changed, use_causal_mask=True).numpy()
    np.testing.assert_allclose(out[:, :3], out_changed[:, :3], atol=1e-5)
    assert not np.allclose(out[:, 3:], out_changed[:, 3:])


def test_cached_decoding_equals_full_sequence():
    layer = MultiHeadAttention(HEADS, HIDDEN // HEADS)
    x = random_sequence()
    full = layer(x, use_causal_mask=True).numpy()
    cache = tf.zeros((BATCH, 2, HEADS, LENGTH, HIDDEN // HEADS))
    # Prefill the first two positions, then decode one position at a time.
    prefix, cache = layer(
        x[:, :2], use_causal_mask=True, cache=cache, cache_update_index=0
    )
    steps = [prefix.numpy()]
    for index in range(2, LENGTH):
        step, cache = layer(
            x[:, index : index + 1],
            use_causal_mask=True,
            cache=cache,
            cache_update_index=index,
        )
        steps.append(step.numpy())
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-5)


def test_ready_made_cross_attention_cache_equals_projection():
    layer = MultiHeadAttention(HEADS, HIDDEN // HEADS)
    query, source = random_sequence(2), random_sequence(5, seed=3)
    direct = layer(query, value=source).numpy()
    key_value = layer._project(source, slice(1, 3))
    cache = tf.transpose(key_value, [1, 0, 2, 3, 4])
    cached, _ = layer(query, cache=cache)
    np.testing.assert_allclose(cached.numpy(), direct, atol=1e-5)


def test_rejects_non_positive_heads():
    with pytest.raises(ValueError, match="num_heads"):
        MultiHeadAttention(num_heads=0, head_dim=4)
