"""Corpus BLEU, as sacrebleu computes it (its signature says how).

BLEU is the geometric mean of the modified 1- to 4-gram precisions of the
hypotheses against their references, counted over the whole corpus, times
a brevity penalty `exp(1 - reference_length / hypothesis_length)` when
the hypotheses are shorter; 0 to 100. sacrebleu tokenizes both sides
itself (its default `13a` tokenizer: punctuation split off, as WMT's
`mteval-v13a.pl`), so scores compare across papers when the signature
matches; report the signature with the score.

Example ("the cat sat on the mat" against "the cat sat on a mat": 5 of 6
unigrams, 3 of 5 bigrams, 2 of 4 trigrams and 1 of 3 4-grams match, the
lengths are equal):

>>> result = corpus_bleu(["the cat sat on the mat"], ["the cat sat on a mat"])
>>> round(result["bleu"], 2)  # 100 * (5/6 * 3/5 * 2/4 * 1/3) ** (1/4)
53.73
>>> result["signature"]  # doctest: +ELLIPSIS
'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:...'
"""

def corpus_bleu(hypotheses, references, tokenize="13a", lowercase=False):
    """Corpus BLEU of `hypotheses` against `references`.

    Args:
        hypotheses: a list of strings, one per segment.
        references: a list of strings (one reference per segment), or a
            list of lists (several references per segment, the same
            number for each).
        tokenize: sacrebleu's tokenizer: "13a" (default, WMT's), "intl",
            "zh", "ja-mecab", "char", "none", ...
        lowercase: compare lowercased text.

    Returns:
        A dict: `bleu` (0-100), `precisions` (the 1- to 4-gram
        precisions, 0-100), `brevity_penalty`, `hypothesis_length` and
        `reference_length` (in tokens) and sacrebleu's `signature`.
    """
    from sacrebleu.metrics import BLEU

    streams = reference_streams(hypotheses, references)
    metric = BLEU(tokenize=tokenize, lowercase=lowercase)
    score = metric.corpus_score(list(hypotheses), streams)
    return {
        "bleu": float(score.score),
        "precisions": [float(p) for p in score.precisions],
        "brevity_penalty": float(score.bp),
        "hypothesis_length": int(score.sys_len),
        "reference_length": int(score.ref_len),
        "signature": str(metric.get_signature()),
    }


def reference_streams(hypotheses, references):
    """sacrebleu's reference layout (one list per reference, each over
    all segments) from one reference or a list of them per segment; a
    count or type mismatch is a ValueError.

    >>> reference_streams(["a", "b"], [["a1", "a2"], ["b1", "b2"]])
    [['a1', 'b1'], ['a2', 'b2']]
    """
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} "
            f"references: give one reference (or one list of references) "
            f"per hypothesis."
        )
    for index, text in enumerate(hypotheses):
        if not isinstance(text, str):
            raise ValueError(f"Hypothesis {index} is a "
                             f"{type(text).__name__}, not a string.")
    rows = [[ref] if isinstance(ref, str) else list(ref)
            for ref in references]
    counts = {len(row) for row in rows}
    if len(counts) > 1 or 0 in counts:
        raise ValueError(
            f"Every segment needs the same number (at least 1) of "
            f"references; got {sorted(counts)}.")
    if not rows:
        return [[]]
    return [list(stream) for stream in zip(*rows)]
