"""Retrieval quality over ranked results: recall@k, MRR@k, NDCG@k (BEIR's
measures, with trec_eval's conventions: graded relevance as linear gain,
the ideal ranking from every judged relevant document).

Example:

>>> rankings = {"q1": ["d3", "d1", "d2"], "q2": ["d2", "d4"]}
>>> relevant = {"q1": {"d1": 1}, "q2": {"d2": 2, "d5": 1}}
>>> scores = retrieval_metrics(rankings, relevant, ks=(1, 2))
>>> scores["recall@1"], scores["recall@2"], scores["mrr@2"]
(0.25, 0.75, 0.75)
"""

import math


def _dcg(gains):
    return sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains))


def retrieval_metrics(rankings, relevant, ks=(1, 5, 10), mrr_k=None,
                      ndcg_k=None):
    """Mean recall@k (every k in `ks`), MRR@`mrr_k` and NDCG@`ndcg_k`
    (both default to the largest k) over the queries of `relevant`.

    Args:
        rankings: query id -> document ids, best first.
        relevant: query id -> {document id: relevance grade > 0}; queries
            with no relevant document are left out, as BEIR does.
        ks: cut-offs for recall.
    """
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"ks must be integers >= 1, got {ks}.")
    mrr_k = mrr_k or ks[-1]
    ndcg_k = ndcg_k or ks[-1]
    judged = {q: {d: g for d, g in docs.items() if g > 0}
              for q, docs in relevant.items()}
    judged = {q: docs for q, docs in judged.items() if docs}
    if not judged:
        raise ValueError("No query has a relevant document.")
    missing = sorted(set(judged) - set(rankings))
    if missing:
        raise ValueError(
            f"No ranking for {len(missing)} judged queries, e.g. "
            f"{missing[:3]}; rank every query that has relevance judgements."
        )
    totals = {f"recall@{k}": 0.0 for k in ks}
    totals[f"mrr@{mrr_k}"] = 0.0
    totals[f"ndcg@{ndcg_k}"] = 0.0
    for query, docs in judged.items():
        ranked = list(rankings[query])
        for k in ks:
            found = len(set(ranked[:k]) & set(docs))
            totals[f"recall@{k}"] += found / len(docs)
        for rank, doc in enumerate(ranked[:mrr_k]):
            if doc in docs:
                totals[f"mrr@{mrr_k}"] += 1.0 / (rank + 1)
                break
        gains = [docs.get(doc, 0) for doc in ranked[:ndcg_k]]
        ideal = sorted(docs.values(), reverse=True)[:ndcg_k]
        totals[f"ndcg@{ndcg_k}"] += _dcg(gains) / _dcg(ideal)
    return {name: total / len(judged) for name, total in totals.items()}
