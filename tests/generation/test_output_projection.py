import numpy as np
import pytest
import tensorflow as tf

from tfzoo.generation.output_projection import OutputProjection


@pytest.mark.parametrize("vocabulary_size", [1, 31, 32, 33, 1000])
@pytest.mark.parametrize("num_shards", [1, 2, 3])
def test_logits_equal_the_transposed_embedding_product(vocabulary_size,
                                                       num_shards):
    rng = np.random.default_rng(vocabulary_size)
    embeddings = rng.standard_normal((vocabulary_size, 24)).astype("float32")
    hidden = rng.standard_normal((5, 24)).astype("float32")
    project = OutputProjection(tf.constant(embeddings), num_shards=num_shards)
    logits = project(tf.constant(hidden)).numpy()
    assert logits.shape == (5, vocabulary_size)
    np.testing.assert_allclose(logits, hidden @ embeddings.T, rtol=1e-5,
                               atol=1e-5)


def test_shards_have_aligned_widths_covering_the_vocabulary():
    project = OutputProjection(tf.zeros([50257, 8]), num_shards=2)
    widths = [kernel.shape[1] for kernel in project.kernels]
    assert widths == [25136, 25136]  # 50272 = 1571 * 32
    assert all(kernel.shape[0] == 8 for kernel in project.kernels)


def test_padding_never_wins_the_argmax_under_xla():
    # Real logits all negative: a padding column (logit 0) would win an
    # argmax if it were not cut off.
    embeddings = -tf.ones([37, 4])

    @tf.function(jit_compile=True)
    def best(hidden):
        return tf.argmax(OutputProjection(embeddings)(hidden), axis=-1)

    logits_width = OutputProjection(embeddings)(tf.ones([2, 4])).shape[1]
    assert logits_width == 37
    assert best(tf.ones([2, 4])).numpy().tolist() == [0, 0]


def test_bfloat16_hidden_states_give_bfloat16_logits():
    project = OutputProjection(tf.ones([10, 4]))
    logits = project(tf.ones([3, 4], tf.bfloat16))
    assert logits.dtype == tf.bfloat16
    assert logits.numpy().astype("float32").tolist() == [[4.0] * 10] * 3
