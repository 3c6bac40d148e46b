import math

import pytest

from tfzoo.metrics import retrieval_metrics


def test_metrics_by_hand():
    rankings = {
        "q1": ["a", "b", "c", "d"],
        "q2": ["x", "y", "z", "w"],
        "q3": ["m", "n"],  # no relevant document: left out
    }
    relevant = {
        "q1": {"b": 2, "d": 1},
        "q2": {"w": 1, "v": 3},  # "v" never retrieved
        "q3": {"m": 0},
    }
    scores = retrieval_metrics(rankings, relevant, ks=(1, 2, 4))
    assert scores["recall@1"] == 0.0
    assert scores["recall@2"] == pytest.approx((1 / 2 + 0) / 2)
    assert scores["recall@4"] == pytest.approx((2 / 2 + 1 / 2) / 2)
    assert scores["mrr@4"] == pytest.approx((1 / 2 + 1 / 4) / 2)
    ndcg_q1 = (2 / math.log2(3) + 1 / math.log2(5)) / (2 + 1 / math.log2(3))
    ndcg_q2 = (1 / math.log2(5)) / (3 + 1 / math.log2(3))
    assert scores["ndcg@4"] == pytest.approx((ndcg_q1 + ndcg_q2) / 2)


def test_cut_offs_limit_mrr_and_ndcg():
    scores = retrieval_metrics({"q": ["a", "b", "c"]}, {"q": {"c": 1}},
                               ks=(1,), mrr_k=2, ndcg_k=2)
    assert scores == {"recall@1": 0.0, "mrr@2": 0.0, "ndcg@2": 0.0}


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="No ranking for 1 judged"):
        retrieval_metrics({}, {"q": {"a": 1}})
    with pytest.raises(ValueError, match="ks must be integers >= 1"):
        retrieval_metrics({"q": ["a"]}, {"q": {"a": 1}}, ks=(0,))
    with pytest.raises(ValueError, match="No query has a relevant"):
        retrieval_metrics({"q": ["a"]}, {"q": {"a": 0}})
