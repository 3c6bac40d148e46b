import numpy as np
import pytest
import tensorflow as tf

from tests.harness import run_layer_test
from tfzoo.layers import TransformerEncoderBlock

BATCH, LENGTH, HIDDEN = 2, 6, 16


def block_inputs():
    x = tf.random.stateless_normal((BATCH, LENGTH, HIDDEN), (0, 1)).numpy()
    mask = np.ones((BATCH, LENGTH), "int32")
    mask[1, 4:] = 0
    return x, mask


@pytest.mark.parametrize("normalize_first", [False, True])
def test_shared_checks(normalize_first):
    x, mask = block_inputs()
    run_layer_test(
        TransformerEncoderBlock,
        {
            "num_heads": 2,
            "intermediate_dim": 32,
            "normalize_first": normalize_first,
        },
        args=[x],
        kwargs={"padding_mask": mask},
        expected_output_shape=(BATCH, LENGTH, HIDDEN),
    )


@pytest.mark.parametrize("normalize_first", [False, True])
def test_padding_does_not_leak(normalize_first):
    block = TransformerEncoderBlock(2, 32, normalize_first=normalize_first)
    x, mask = block_inputs()
    changed = x.copy()
    changed[1, 4:] = 55.0
    out = block(x, padding_mask=mask).numpy()
    out_changed = block(changed, padding_mask=mask).numpy()
    np.testing.assert_allclose(out[1, :4], out_changed[1, :4], atol=1e-5)
    np.testing.assert_allclose(out[0], out_changed[0], atol=1e-6)


@pytest.mark.parametrize("normalize_first", [False, True])
def test_first_token_only_equals_full_first_position(normalize_first):
    block = TransformerEncoderBlock(2, 32, normalize_first=normalize_first)
    x, mask = block_inputs()
    full = block(x, padding_mask=mask).numpy()
    first = block(x, padding_mask=mask, first_token_only=True).numpy()
    assert first.shape == (BATCH, 1, HIDDEN)
    np.testing.assert_allclose(first, full[:, :1], atol=1e-5)


def test_post_and_pre_norm_differ():
    x, mask = block_inputs()
    outputs = []
    for normalize_first in (False, True):
        tf.keras.utils.set_random_seed(7)
        block = TransformerEncoderBlock(2, 32, normalize_first=normalize_first)
        outputs.append(block(x, padding_mask=mask).numpy())
    # Post-norm output is normalised per position; pre-norm output is not.
    np.testing.assert_allclose(outputs[0].mean(-1), 0.0, atol=1e-4)
    assert np.abs(outputs[1].mean(-1)).max() > 1e-2


def test_heads_must_divide_hidden():
    block = TransformerEncoderBlock(num_heads=3, intermediate_dim=8)
    with pytest.raises(ValueError, match=r"hidden_dim \(16\).*num_heads \(3\)"):
        block(np.zeros((1, 2, 16), "float32"))
