import math

import pytest

from tfzoo.metrics import sts_metrics


def test_correlations_by_hand():
    # predicted [.9, .1, .5, .4], gold [5, 0, 2, 3]: deviations
    # [.425, -.375, .025, -.075] and [2.5, -2.5, -.5, .5].
    scores = sts_metrics([0.9, 0.1, 0.5, 0.4], [5, 0, 2, 3])
    assert scores["pearson"] == pytest.approx(
        1.95 / math.sqrt(0.3275 * 13), rel=1e-12)
    # ranks [4, 1, 3, 2] and [4, 1, 2, 3]: 1 - 6 * 2 / (4 * 15)
    assert scores["spearman"] == pytest.approx(0.8, rel=1e-12)


def test_tied_scores_share_their_rank():
    # gold ranks [1.5, 1.5, 3, 4], predicted ranks [1, 2, 3, 4]; Spearman
    # is the Pearson correlation of the ranks.
    scores = sts_metrics([0.1, 0.2, 0.3, 0.4], [1, 1, 2, 3])
    gold = [1.5, 1.5, 3, 4]
    mean = sum(gold) / 4
    covariance = sum((p - 2.5) * (g - mean)
                     for p, g in zip([1, 2, 3, 4], gold))
    spread = math.sqrt(5 * sum((g - mean) ** 2 for g in gold))
    assert scores["spearman"] == pytest.approx(covariance / spread)
    assert scores["spearman"] < 1.0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="as many predictions"):
        sts_metrics([0.1, 0.2], [1.0])
    with pytest.raises(ValueError, match="all equal"):
        sts_metrics([0.5, 0.5, 0.5], [1, 2, 3])
