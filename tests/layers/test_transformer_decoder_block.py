import numpy as np
import pytest
import tensorflow as tf

from tests.harness import run_layer_test
from tfzoo.layers import TransformerDecoderBlock

BATCH, LENGTH, HIDDEN, HEADS = 2, 6, 16, 2


def sequence(length=LENGTH, seed=0):
    return tf.random.stateless_normal((BATCH, length, HIDDEN), (seed, 2))


@pytest.mark.parametrize("use_cross_attention", [False, True])
def test_shared_checks(use_cross_attention):
    kwargs = {"padding_mask": np.ones((BATCH, LENGTH), "int32")}
    if use_cross_attention:
        kwargs["encoder_sequence"] = sequence(4, seed=5)
        kwargs["encoder_padding_mask"] = np.array([[1, 1, 1, 0]] * BATCH)
    run_layer_test(
        TransformerDecoderBlock,
        {
            "num_heads": HEADS,
            "intermediate_dim": 32,
            "use_cross_attention": use_cross_attention,
        },
        args=[sequence()],
        kwargs=kwargs,
        expected_output_shape=(BATCH, LENGTH, HIDDEN),
    )


def test_future_tokens_do_not_change_earlier_outputs():
    block = TransformerDecoderBlock(HEADS, 32)
    x = sequence().numpy()
    changed = x.copy()
    changed[:, 4:] = 9.0
    out, out_changed = block(x).numpy(), block(changed).numpy()
    np.testing.assert_allclose(out[:, :4], out_changed[:, :4], atol=1e-5)
    assert not np.allclose(out[:, 4:], out_changed[:, 4:])


@pytest.mark.parametrize("normalize_first", [True, False])
def test_cached_decoding_equals_full_sequence(normalize_first):
    block = TransformerDecoderBlock(
        HEADS, 32, use_cross_attention=True, normalize_first=normalize_first
    )
    x, source = sequence(), sequence(3, seed=4)
    full = block(x, encoder_sequence=source).numpy()
    cache = tf.zeros((BATCH, 2, HEADS, LENGTH, HIDDEN // HEADS))
    steps = []
    for index in range(LENGTH):
        step, cache = block(
            x[:, index : index + 1],
            encoder_sequence=source,
            cache=cache,
            cache_update_index=index,
        )
        steps.append(step.numpy())
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-5)


def test_cross_attention_needs_encoder_sequence():
    block = TransformerDecoderBlock(HEADS, 32, use_cross_attention=True)
    with pytest.raises(ValueError, match="encoder_sequence"):
        block(sequence())
