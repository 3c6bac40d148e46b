"""ROUGE F-measures of summaries, as the `rouge-score` package computes them.

ROUGE-1 and ROUGE-2 count the unigrams and bigrams a summary shares with
its reference; ROUGE-L takes the longest common subsequence of words;
ROUGE-Lsum takes it sentence by sentence (the union of each reference
sentence's LCS with all summary sentences), so it needs the sentences
split: here each text is split into sentences at `.`, `!` and `?`
followed by a space, and the sentences joined with newlines, as
rouge-score's Lsum expects. Words are lowercased, split at
non-alphanumerics and Porter-stemmed ("approves" matches "approved").
Scores are the mean F-measure over the summaries, 0 to 100.

Example (3 of 4 words shared, in order):

>>> scores = rouge(["council approves new homes"],
...                ["the council approved new homes"])
>>> round(scores["rouge1"], 2)  # P 4/4, R 4/5: stemming matches approve
88.89
>>> round(scores["rouge2"], 2)  # bigrams: P 3/3, R 3/4
85.71
"""

import re

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences_on_lines(text):
    """`text` with one sentence a line, as ROUGE-Lsum needs it.

    >>> sentences_on_lines("Rain fell. Roads shut! Why?")
    'Rain fell.\\nRoads shut!\\nWhy?'
    """
    return "\n".join(part for part in _SENTENCE_END.split(text.strip())
                     if part)


def rouge(summaries, references, rouge_types=ROUGE_TYPES):
    """Mean ROUGE F-measures (0-100) of `summaries` against `references`.

    Args:
        summaries: a list of strings, one per document.
        references: a list of strings, the reference summary of each.
        rouge_types: which scores, of "rouge1", "rouge2", "rougeL",
            "rougeLsum" (and rouge-score's other "rougeN").

    Returns:
        A dict from each ROUGE type to its mean F-measure; 0 for every
        type when there are no summaries.
    """
    from rouge_score import rouge_scorer

    summaries, references = list(summaries), list(references)
    if len(summaries) != len(references):
        raise ValueError(
            f"{len(summaries)} summaries but {len(references)} references: "
            f"give one reference per summary.")
    scorer = rouge_scorer.RougeScorer(list(rouge_types), use_stemmer=True)
    totals = dict.fromkeys(rouge_types, 0.0)
    for summary, reference in zip(summaries, references):
        if not isinstance(summary, str) or not isinstance(reference, str):
            raise ValueError("Summaries and references must be strings.")
        scores = scorer.score(sentences_on_lines(reference),
                              sentences_on_lines(summary))
        for name in rouge_types:
            totals[name] += scores[name].fmeasure
    count = max(len(summaries), 1)
    return {name: 100.0 * total / count for name, total in totals.items()}


def mean_words(texts):
    """The mean length of `texts` in whitespace-separated words.

    >>> mean_words(["two words", "and three words"])
    2.5
    """
    texts = list(texts)
    return sum(len(text.split()) for text in texts) / max(len(texts), 1)
