import numpy as np

from tests import synthetic_tasks as tasks
from tests.harness import run_model_test
from tfzoo.models import BertBackbone, BertMaskedLM


def test_shared_checks():
    x, _, _ = tasks.counting_masked_lm(4)
    output = run_model_test(
        lambda: BertMaskedLM(BertBackbone(**tasks.TINY_BERT)), x
    )
    assert output.shape == (4, 3, tasks.VOCABULARY_SIZE)


def test_output_projection_is_the_token_embedding():
    model = BertMaskedLM(BertBackbone(**tasks.TINY_BERT))
    embedding = model.backbone.token_embedding.embeddings
    projection_shaped = [
        w for w in model.weights if tuple(w.shape) == (64, 40)
    ]
    assert projection_shaped == []
    assert any(w is embedding for w in model.masked_lm_head.weights)


def test_learns_to_fill_in_counting_runs():
    x, y, weights = tasks.counting_masked_lm(2048)
    model = BertMaskedLM(BertBackbone(**tasks.TINY_BERT))
    model.compile(learning_rate=2e-3)
    model.fit(x, y, sample_weight=weights, batch_size=64, epochs=12,
              verbose=0)
    test_x, test_y, test_weights = tasks.counting_masked_lm(512, seed=1)
    result = model.evaluate(test_x, test_y, sample_weight=test_weights,
                            verbose=0, return_dict=True)
    assert result["accuracy"] > 0.9  # chance is 1/35


def test_zero_weight_positions_do_not_count():
    x, y, weights = tasks.counting_masked_lm(64)
    model = BertMaskedLM(BertBackbone(**tasks.TINY_BERT))
    model.compile()
    weights[:, 2] = 0.0
    garbage = y.copy()
    garbage[:, 2] = 0
    a = model.evaluate(x, y, sample_weight=weights, verbose=0)
    b = model.evaluate(x, garbage, sample_weight=weights, verbose=0)
    np.testing.assert_allclose(a, b, rtol=1e-6)
