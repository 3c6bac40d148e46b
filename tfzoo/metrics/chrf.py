"""Corpus chrF, as sacrebleu computes it (its signature says how).

chrF is the F-score (beta 2: recall weighs more than precision) of
character n-grams (n = 1 to 6, spaces removed): precision and recall
are counted over the whole corpus, each averaged over the n-gram orders
the text has, then combined, `(1 + b^2) P R / (b^2 P + R)`; 0 to 100. It rewards a partly right word form (a wrong
ending, a split compound), where BLEU counts a miss.

Example: "abc" against "abd" (characters: 2 of 3 match; bigrams: "ab"
of "ab", "bc"; trigrams: none; precision equals recall at each order,
so each F-score is the precision):

>>> result = corpus_chrf(["abc"], ["abd"])
>>> round(result["chrf"], 2)  # 100 * (2/3 + 1/2 + 0) / 3
38.89
>>> result["signature"]  # doctest: +ELLIPSIS
'nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:...'
"""

from tfzoo.metrics.bleu import reference_streams


def corpus_chrf(hypotheses, references, char_order=6, word_order=0,
                beta=2):
    """Corpus chrF of `hypotheses` against `references`.

    Args:
        hypotheses: a list of strings, one per segment.
        references: a list of strings, or a list of lists (several
            references per segment).
        char_order: the longest character n-gram (default 6).
        word_order: word n-grams to add (2 gives chrF++; default 0).
        beta: recall's weight against precision (default 2).

    Returns:
        A dict: `chrf` (0-100) and sacrebleu's `signature`.
    """
    from sacrebleu.metrics import CHRF

    streams = reference_streams(hypotheses, references)
    metric = CHRF(char_order=char_order, word_order=word_order, beta=beta)
    score = metric.corpus_score(list(hypotheses), streams)
    return {"chrf": float(score.score),
            "signature": str(metric.get_signature())}
