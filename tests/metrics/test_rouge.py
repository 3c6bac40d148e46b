"""ROUGE F-measures equal rouge-score's own, scored directly, on a few
summaries; stemming is on and ROUGE-Lsum sees one sentence a line."""

import pytest
from rouge_score import rouge_scorer

from tfzoo.metrics import mean_words, rouge

SUMMARIES = [
    "Rivermouth council approves 40 new homes.",
    "Flood closes the harbour road. Ferries stop.",
    "storm",
    "",
]
REFERENCES = [
    "Council in Rivermouth approved forty new homes on Tuesday.",
    "Ferries stopped. The harbour road was closed by a flood.",
    "A storm hit the coast.",
    "Nothing happened.",
]


def test_equal_to_rouge_score_with_stemming():
    scorer = rouge_scorer.RougeScorer(
        ["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    expected = {name: 0.0 for name in ("rouge1", "rouge2", "rougeL",
                                       "rougeLsum")}
    for summary, reference in zip(SUMMARIES, REFERENCES):
        # Lsum needs sentences on lines; the others ignore newlines.
        scores = scorer.score(reference.replace(". ", ".\n"),
                              summary.replace(". ", ".\n"))
        for name in expected:
            expected[name] += 100 * scores[name].fmeasure / len(SUMMARIES)
    assert rouge(SUMMARIES, REFERENCES) == pytest.approx(expected)


def test_lsum_splits_sentences_and_l_does_not():
    # Two sentences in swapped order: one LCS over the whole text keeps
    # only one of them, the per-sentence LCS of Lsum keeps both.
    scores = rouge(["the road shut. ferries stopped."],
                   ["ferries stopped. the road shut."])
    assert scores["rougeLsum"] == pytest.approx(100.0)
    assert scores["rougeL"] < 70
    assert scores["rouge1"] == pytest.approx(100.0)


def test_stemming_matches_word_forms():
    assert rouge(["homes approved"], ["home approves"])["rouge1"] == \
        pytest.approx(100.0)


def test_mismatched_counts_and_mean_length():
    with pytest.raises(ValueError, match="2 summaries but 1 references"):
        rouge(["a", "b"], ["a"])
    assert mean_words(SUMMARIES) == pytest.approx((6 + 7 + 1 + 0) / 4)
