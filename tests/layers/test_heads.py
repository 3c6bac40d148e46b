import keras
import numpy as np

from tests.harness import run_layer_test
from tfzoo.layers import FeedForward, MaskedLMHead, SpanHead


def test_feed_forward_shared_checks():
    run_layer_test(
        FeedForward,
        {"intermediate_dim": 12},
        args=[np.random.default_rng(0).normal(size=(2, 3, 4)).astype("f")],
        expected_output_shape=(2, 3, 4),
    )


def test_span_head_shared_checks_and_padding():
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    start, end = run_layer_test(
        SpanHead,
        {},
        args=[np.random.default_rng(0).normal(size=(2, 4, 8)).astype("f")],
        kwargs={"padding_mask": mask},
        expected_output_shape=((2, 4), (2, 4)),
    )
    assert np.all(start[mask == 0] < -1e8) and np.all(end[mask == 0] < -1e8)
    assert np.all(np.abs(start[mask == 1]) < 100)


def test_masked_lm_head_is_tied_to_the_embedding():
    embedding = keras.layers.Embedding(20, 8)
    embedding.build((None,))
    head = MaskedLMHead(token_embedding=embedding)
    sequence = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("f")
    positions = np.array([[0, 3], [4, 4]], "int32")
    logits = head(sequence, mask_positions=positions).numpy()
    assert logits.shape == (2, 2, 20)
    hidden = head.norm(head.transform(sequence[[0, 0, 1, 1], [0, 3, 4, 4]]))
    expected = hidden.numpy() @ embedding.embeddings.numpy().T
    np.testing.assert_allclose(logits.reshape(4, 20), expected, atol=1e-5)
    # Training the embedding changes the head's projection.
    embedding.embeddings.assign(embedding.embeddings * 2.0)
    doubled = head(sequence, mask_positions=positions).numpy()
    bias = head.output_bias.numpy()
    np.testing.assert_allclose(doubled - bias, 2 * (logits - bias), atol=1e-4)
