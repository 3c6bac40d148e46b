import numpy as np
import pytest

from tests.harness import run_layer_test
from tfzoo.layers import (
    PositionEmbedding,
    SinusoidalPositionEmbedding,
    TokenAndPositionEmbedding,
)


def test_position_embedding_shared_checks():
    run_layer_test(
        PositionEmbedding,
        {"sequence_length": 10},
        args=[np.zeros((2, 7, 4), "float32")],
        expected_output_shape=(2, 7, 4),
    )


def test_position_embedding_start_index_offsets_positions():
    layer = PositionEmbedding(sequence_length=10)
    full = layer(np.zeros((1, 10, 4), "float32")).numpy()
    shifted = layer(np.zeros((1, 3, 4), "float32"), start_index=5).numpy()
    np.testing.assert_allclose(shifted, full[:, 5:8])


def test_sinusoidal_values():
    output = run_layer_test(
        SinusoidalPositionEmbedding,
        {},
        args=[np.zeros((1, 3, 4), "float32")],
        expected_output_shape=(1, 3, 4),
    )
    # Position p, frequency 1/10000^(i/2): [sin(p), sin(p/100), cos(p), ...]
    expected = [
        [np.sin(p), np.sin(p / 100), np.cos(p), np.cos(p / 100)]
        for p in range(3)
    ]
    np.testing.assert_allclose(output[0], expected, atol=1e-6)


def test_sinusoidal_rejects_odd_feature_size():
    with pytest.raises(ValueError, match="even"):
        SinusoidalPositionEmbedding()(np.zeros((1, 3, 5), "float32"))


@pytest.mark.parametrize("position_embedding", ["learned", "sinusoidal"])
def test_token_and_position_shared_checks(position_embedding):
    ids = np.array([[1, 2, 3, 0], [4, 5, 0, 0]], "int32")
    run_layer_test(
        TokenAndPositionEmbedding,
        {
            "vocabulary_size": 10,
            "sequence_length": 8,
            "embedding_dim": 6,
            "num_segments": 2,
            "position_embedding": position_embedding,
        },
        args=[ids],
        kwargs={"segment_ids": np.zeros_like(ids)},
        expected_output_shape=(2, 4, 6),
    )


def test_token_and_position_sums_its_parts():
    layer = TokenAndPositionEmbedding(10, 8, 6, num_segments=2)
    ids = np.array([[3, 7]], "int32")
    segments = np.array([[0, 1]], "int32")
    output = layer(ids, segment_ids=segments).numpy()
    tokens = layer.token_embedding.embeddings.numpy()[[3, 7]]
    positions = layer.position_embedding.position_embeddings.numpy()[:2]
    segment = layer.segment_embedding.embeddings.numpy()[[0, 1]]
    np.testing.assert_allclose(output[0], tokens + positions + segment,
                               atol=1e-6)


def test_segment_ids_required_when_configured():
    layer = TokenAndPositionEmbedding(10, 8, 6, num_segments=2)
    with pytest.raises(ValueError, match="segment_ids"):
        layer(np.zeros((1, 3), "int32"))


def test_unknown_position_embedding_type():
    with pytest.raises(ValueError, match="position_embedding"):
        TokenAndPositionEmbedding(10, 8, 6, position_embedding="rotary")
