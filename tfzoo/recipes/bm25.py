"""BM25 lexical retrieval: the baseline a learned embedder should beat.

Okapi BM25 with Lucene's non-negative idf, `log(1 + (N - n + 0.5) /
(n + 0.5))`, over lowercased word tokens (letters and digits; no stemming,
no stop words), as `rank_bm25.BM25Okapi` scores with Lucene's idf.

Example:

>>> index = BM25(["the cat sat", "the dog ran", "a cat and a dog"])
>>> index.rank("cat dog", top_k=2)  # the one with both words first
[2, 0]
>>> index.rank("sat")  # documents without a query word score 0
[0, 1, 2]
"""

import collections
import math
import re

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text):
    """Lowercased word tokens.

    >>> words("Cancelling your Orbit-Pass, 2x!")
    ['cancelling', 'your', 'orbit', 'pass', '2x']
    """
    return _WORD.findall(text.lower())


class BM25:
    """A BM25 index over `documents` (a list of texts)."""

    def __init__(self, documents, k1=1.5, b=0.75):
        if not documents:
            raise ValueError("BM25 needs at least one document.")
        self.k1, self.b = float(k1), float(b)
        self.term_counts = [collections.Counter(words(d)) for d in documents]
        self.lengths = np.array([sum(c.values()) for c in self.term_counts],
                                "float64")
        self.average_length = max(float(self.lengths.mean()), 1e-9)
        frequencies = collections.Counter()
        for counts in self.term_counts:
            frequencies.update(counts.keys())
        size = len(documents)
        self.idf = {term: math.log(1.0 + (size - n + 0.5) / (n + 0.5))
                    for term, n in frequencies.items()}

    def scores(self, query):
        """BM25 score of every document for `query`, a numpy array."""
        norms = self.k1 * (1 - self.b + self.b * self.lengths
                           / self.average_length)
        result = np.zeros(len(self.term_counts))
        for term in words(query):
            idf = self.idf.get(term)
            if idf is None:
                continue
            counts = np.array([c.get(term, 0) for c in self.term_counts],
                              "float64")
            result += idf * counts * (self.k1 + 1) / (counts + norms)
        return result

    def rank(self, query, top_k=10):
        """Indices of the `top_k` best documents, best first (ties keep
        corpus order)."""
        scores = self.scores(query)
        return [int(i) for i in np.argsort(-scores, kind="stable")[:top_k]]
