"""Semantic textual similarity: how well predicted similarities rank and
track gold scores.

Example:

>>> scores = sts_metrics([0.9, 0.1, 0.5, 0.4], [5.0, 0.0, 2.0, 3.0])
>>> scores["spearman"], round(scores["pearson"], 4)
(0.8, 0.9451)
"""

import numpy as np


def average_ranks(values):
    """Ranks from 1, ties sharing their average rank.

    >>> average_ranks([10, 30, 20, 30]).tolist()
    [1.0, 3.5, 2.0, 3.5]
    """
    values = np.asarray(values, "float64")
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), "float64")
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[
                start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _pearson(a, b):
    a = a - a.mean()
    b = b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    if denominator == 0:
        raise ValueError(
            "Correlation is undefined when the predicted or the gold scores "
            "are all equal."
        )
    return float((a * b).sum() / denominator)


def sts_metrics(predicted, gold):
    """Spearman (rank) and Pearson correlation of `predicted` similarities
    (e.g. cosines) with `gold` scores: the STS benchmark's measures."""
    predicted = np.asarray(predicted, "float64").reshape(-1)
    gold = np.asarray(gold, "float64").reshape(-1)
    if len(predicted) != len(gold) or len(gold) < 2:
        raise ValueError(
            f"sts_metrics needs as many predictions as gold scores, at "
            f"least two; got {len(predicted)} and {len(gold)}."
        )
    return {
        "spearman": _pearson(average_ranks(predicted), average_ranks(gold)),
        "pearson": _pearson(predicted, gold),
    }
