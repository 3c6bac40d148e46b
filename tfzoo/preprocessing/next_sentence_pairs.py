"""Sentence-pair examples for BERT's next-sentence prediction."""

import random

import numpy as np
import tensorflow as tf


def make_next_sentence_pairs(
    documents,
    tokenizer,
    sequence_length,
    short_sequence_probability=0.1,
    seed=0,
):
    """Builds (first, second, is-next) text pairs from documents.

    `documents` is a list of documents, each a list of sentence strings
    (as `tfzoo.data.read_text_corpus` returns). Each document is walked in
    order: consecutive sentences gather into a chunk until it holds
    `sequence_length - 3` tokens (counted with `tokenizer`), or, with
    probability `short_sequence_probability`, a random smaller target of
    at least 2, so the model also sees short inputs. The chunk is split at
    a random sentence boundary into A and B. With probability 0.5, B is the
    true continuation (label 1). Otherwise B is a run of sentences from a
    random start in a random *other* document, sized to fill the rest of
    the target, and A's unused sentences go back to start the next chunk
    (label 0). Labels are drawn with probability 0.5 for every pair, so
    about half the pairs are positive.

    A chunk always holds at least two sentences, so a chunk can run over
    the target (when one sentence alone fills it, or to take in a
    document's last sentence); the packer truncates what does not fit. A
    single sentence left at the end of a document after a label-0 pair
    cannot start a pair and is skipped. Documents with one sentence only
    serve as random B material. Blank sentences and empty documents are
    ignored. Pairs come out shuffled; the same `seed` gives the same
    pairs.

    Args:
        documents: a list of documents, each a list of sentence strings.
        tokenizer: a callable from a list of strings to (ragged) token
            ids, such as `WordPieceTokenizer`.
        sequence_length: the packed length, `[CLS] A [SEP] B [SEP]`.
        short_sequence_probability: how often to aim for a shorter pair.
        seed: the seed of Python's `random.Random` used throughout.

    Returns:
        A dict with lists of strings `"first"` and `"second"` (sentences
        joined with a space), an int32 array `"next_sentence_labels"`
        (1 when second follows first), and `"truncated_sentences"`: how
        many distinct sentences have more than `sequence_length - 3`
        tokens and so cannot fit whole (the packer truncates them; they
        are not dropped), and `"unpaired_sentences"`: how many sentences
        start no pair (a document's lone last sentence, or a one-sentence
        document); they can still appear as random B material.

    Example:

    >>> from tfzoo.tokenizers import WordPieceTokenizer
    >>> tokenizer = WordPieceTokenizer(
    ...     ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "."])
    >>> documents = [["a a .", "b b .", "a b ."], ["b a .", "a a ."]]
    >>> pairs = make_next_sentence_pairs(documents, tokenizer, 9, seed=1)
    >>> len(pairs["first"]) == len(pairs["next_sentence_labels"])
    True
    >>> sorted(pairs)
    ['first', 'next_sentence_labels', 'second', 'truncated_sentences', 'unpaired_sentences']
    """
    if sequence_length < 5:
        raise ValueError(
            f"sequence_length must be at least 5 ([CLS] A [SEP] B [SEP] "
            f"with a token each), got {sequence_length}."
        )
    if not 0.0 <= short_sequence_probability <= 1.0:
        raise ValueError(
            f"short_sequence_probability must be in [0, 1], got "
            f"{short_sequence_probability}."
        )
    documents = _clean_documents(documents)
    if len(documents) < 2:
        raise ValueError(
            f"Next-sentence pairs need at least 2 non-empty documents (label "
            f"0 pairs take B from another document), got {len(documents)}."
        )
    lengths = _token_counts(documents, tokenizer)
    max_tokens = sequence_length - 3
    rng = random.Random(seed)

    pairs = []  # (first sentences, second sentences, label)
    unpaired = 0
    for index, document in enumerate(documents):
        start = 0
        while len(document) - start >= 2:
            target = max_tokens
            if rng.random() < short_sequence_probability:
                target = rng.randint(2, max_tokens)
            end = _chunk_end(lengths[index], start, target)
            split = rng.randint(start + 1, end - 1)
            first = document[start:split]
            if rng.random() < 0.5:
                pairs.append((first, document[split:end], 1))
                start = end
            else:
                used = sum(lengths[index][start:split])
                second = _random_second(
                    documents, lengths, index, target - used, rng
                )
                pairs.append((first, second, 0))
                start = split  # A's unused sentences start the next chunk
        unpaired += len(document) - start
    if not pairs:
        raise ValueError(
            "No pair could be made: every document has a single sentence. "
            "Fix: give documents of two or more sentences."
        )
    rng.shuffle(pairs)
    too_long = {
        sentence
        for document, counts in zip(documents, lengths)
        for sentence, count in zip(document, counts)
        if count > max_tokens
    }
    return {
        "first": [" ".join(first) for first, _, _ in pairs],
        "second": [" ".join(second) for _, second, _ in pairs],
        "next_sentence_labels": np.array(
            [label for _, _, label in pairs], dtype=np.int32
        ),
        "truncated_sentences": len(too_long),
        "unpaired_sentences": unpaired,
    }


def _clean_documents(documents):
    """Documents as lists of stripped non-blank sentences; empty ones out."""
    if isinstance(documents, str) or not hasattr(documents, "__iter__"):
        raise ValueError(
            "documents must be a list of documents, each a list of sentence "
            "strings."
        )
    cleaned = []
    for number, document in enumerate(documents):
        if isinstance(document, str) or not all(
            isinstance(sentence, str) for sentence in document
        ):
            raise ValueError(
                f"Document {number} is not a list of sentence strings. "
                f"Fix: split each document into a list of sentences."
            )
        sentences = [s.strip() for s in document if s.strip()]
        if sentences:
            cleaned.append(sentences)
    return cleaned


def _token_counts(documents, tokenizer, batch_size=1024):
    """The number of tokens of each sentence, per document."""
    sentences = [sentence for document in documents for sentence in document]
    counts = []
    for begin in range(0, len(sentences), batch_size):
        ids = tokenizer(sentences[begin:begin + batch_size])
        if isinstance(ids, tf.RaggedTensor):
            counts.extend(ids.row_lengths().numpy().tolist())
        else:
            counts.extend(len(row) for row in ids)
    per_document, begin = [], 0
    for document in documents:
        per_document.append(counts[begin:begin + len(document)])
        begin += len(document)
    return per_document


def _chunk_end(lengths, start, target):
    """The end of a chunk of at least 2 sentences reaching `target`."""
    end, total = start, 0
    while end < len(lengths) and (total < target or end - start < 2):
        total += lengths[end]
        end += 1
    if len(lengths) - end == 1:
        end += 1  # a lone last sentence could not start a pair
    return end


def _random_second(documents, lengths, index, target, rng):
    """Sentences from a random other document, up to `target` tokens."""
    other = rng.randrange(len(documents) - 1)
    if other >= index:
        other += 1
    begin = rng.randrange(len(documents[other]))
    end, total = begin, 0
    while end < len(documents[other]) and (total < target or end == begin):
        total += lengths[other][end]
        end += 1
    return documents[other][begin:end]
