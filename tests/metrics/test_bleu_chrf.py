"""Corpus BLEU and chrF against values worked out by hand, and the
sacrebleu signatures that say how they were computed."""

import math

import pytest

from tfzoo.metrics import corpus_bleu, corpus_chrf


def test_bleu_by_hand():
    # "the cat sat on the mat" against "the cat sat on a mat": unigrams
    # 5/6, bigrams 3/5 ("the cat", "cat sat", "sat on"), trigrams 2/4,
    # 4-grams 1/3; equal lengths, so no brevity penalty.
    result = corpus_bleu(["the cat sat on the mat"], ["the cat sat on a mat"])
    assert result["precisions"] == pytest.approx(
        [100 * 5 / 6, 100 * 3 / 5, 100 * 2 / 4, 100 * 1 / 3])
    assert result["bleu"] == pytest.approx(
        100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)
    assert result["brevity_penalty"] == 1.0
    assert (result["hypothesis_length"], result["reference_length"]) == (6, 6)
    assert result["signature"].startswith(
        "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.")


def test_bleu_counts_over_the_corpus_and_penalizes_short_output():
    # Two segments: n-gram counts add up before the precisions are taken.
    # "a b c d" matches all its 4, 3, 2 and 1 n-grams; "x b c" against
    # "a b c d e" matches 2 of 3 unigrams, 1 of 2 bigrams, 0 of 1 trigram
    # and has no 4-gram: corpus precisions 6/7, 4/5, 2/3, 1/1.
    hypotheses = ["a b c d", "x b c"]
    references = ["a b c d", "a b c d e"]
    result = corpus_bleu(hypotheses, references)
    assert result["precisions"] == pytest.approx(
        [100 * 6 / 7, 100 * 4 / 5, 100 * 2 / 3, 100 * 1 / 1])
    # 7 hypothesis tokens against 9 reference tokens.
    penalty = math.exp(1 - 9 / 7)
    assert result["brevity_penalty"] == pytest.approx(penalty)
    assert result["bleu"] == pytest.approx(
        100 * penalty * (6 / 7 * 4 / 5 * 2 / 3 * 1) ** 0.25)


def test_bleu_tokenizes_punctuation_and_takes_several_references():
    # 13a splits the full stop off: "Hello, world." is 4 tokens.
    assert corpus_bleu(["Hello, world."], ["Hello , world ."])["bleu"] == \
        pytest.approx(100)
    # The better of two references counts, n-gram by n-gram.
    both = corpus_bleu(["the dog ran home fast"],
                       [["a cat ran home", "the dog ran home fast"]])
    assert both["bleu"] == pytest.approx(100)
    assert both["signature"].startswith("nrefs:2|")
    assert corpus_bleu(["completely different words here"],
                       ["the dog ran home fast"])["bleu"] == 0.0


def test_chrf_by_hand():
    # "abc" against "abd": character unigrams 2/3, bigrams 1/2 ("ab" of
    # "ab", "bc"), trigrams 0/1; precision equals recall at each order,
    # so each F-score equals it, and chrF averages the three orders.
    result = corpus_chrf(["abc"], ["abd"])
    assert result["chrf"] == pytest.approx(100 * (2 / 3 + 1 / 2 + 0) / 3)
    assert result["signature"].startswith(
        "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.")
    # Spaces do not count; a perfect match is 100.
    assert corpus_chrf(["ab cd"], ["abcd"])["chrf"] == pytest.approx(100)
    # beta 2 weighs recall more: "ab" against "abab" (unigrams: P 1, R
    # 1/2; bigrams: P 1, R 1/3) scores below the reverse (P and R
    # swapped). Precision and recall are each averaged over the orders,
    # then combined: F2 = 5PR / (4P + R).
    f2 = lambda p, r: 5 * p * r / (4 * p + r)  # noqa: E731
    short = corpus_chrf(["ab"], ["abab"])["chrf"]
    long = corpus_chrf(["abab"], ["ab"])["chrf"]
    assert short < long
    assert short == pytest.approx(100 * f2(1, (1 / 2 + 1 / 3) / 2))


def test_mismatched_inputs_are_errors():
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        corpus_bleu(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="same number"):
        corpus_chrf(["a", "b"], [["a"], ["b", "c"]])
    with pytest.raises(ValueError, match="Hypothesis 0 is a NoneType"):
        corpus_bleu([None], ["a"])
