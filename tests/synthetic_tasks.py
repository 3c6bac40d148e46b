"""Small synthetic tasks that a model can only solve by using its inputs.

Token ids: 0 pad, 1 [CLS], 2 [SEP], 3 [MASK], 4 the marker, 5.. ordinary.
"""

import numpy as np

PAD, CLS, SEP, MASK, MARKER = 0, 1, 2, 3, 4
FIRST_ORDINARY = 5
VOCABULARY_SIZE = 40
TINY_BERT = {
    "vocabulary_size": VOCABULARY_SIZE,
    "num_layers": 2,
    "num_heads": 4,
    "hidden_dim": 64,
    "intermediate_dim": 128,
    "max_sequence_length": 32,
    "dropout": 0.0,
}


def _features(token_ids, segment_ids=None):
    token_ids = np.asarray(token_ids, "int32")
    if segment_ids is None:
        segment_ids = np.zeros_like(token_ids)
    return {
        "token_ids": token_ids,
        "segment_ids": np.asarray(segment_ids, "int32"),
        "padding_mask": (token_ids != PAD).astype("int32"),
    }


def _random_sentence(rng, length):
    return list(rng.integers(FIRST_ORDINARY, VOCABULARY_SIZE, length))


def _pad(rows, length):
    return [row + [PAD] * (length - len(row)) for row in rows]


def marker_presence(count, length=16, seed=0):
    """Label 1 when the marker appears anywhere in the sentence."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for index in range(count):
        words = _random_sentence(rng, rng.integers(5, length - 1))
        label = index % 2
        if label:
            words[rng.integers(0, len(words))] = MARKER
        rows.append([CLS] + words)
        labels.append(label)
    return _features(_pad(rows, length)), np.array(labels)


def marker_fraction(count, length=16, seed=0):
    """Regression target: the fraction of words that are markers."""
    rng = np.random.default_rng(seed)
    rows, targets = [], []
    for _ in range(count):
        words = _random_sentence(rng, length - 1)
        markers = rng.integers(0, 6)
        for position in rng.choice(len(words), markers, replace=False):
            words[position] = MARKER
        rows.append([CLS] + words)
        targets.append(markers / len(words))
    return _features(rows), np.array(targets, "float32")


def marker_segment(count, length=20, seed=0):
    """Sentence pairs: label 1 when the marker is in the second sentence."""
    rng = np.random.default_rng(seed)
    rows, segments, labels = [], [], []
    for index in range(count):
        first = _random_sentence(rng, rng.integers(3, 8))
        second = _random_sentence(rng, rng.integers(3, 8))
        label = index % 2
        target = second if label else first
        target[rng.integers(0, len(target))] = MARKER
        row = [CLS] + first + [SEP] + second + [SEP]
        rows.append(row)
        segments.append([0] * (len(first) + 2) + [1] * (len(second) + 1))
        labels.append(label)
    return (
        _features(_pad(rows, length), _pad(segments, length)),
        np.array(labels),
    )


def previous_token_class(count, length=16, seed=0):
    """Per-token label: the previous word's id modulo 3; -100 elsewhere."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for _ in range(count):
        words = _random_sentence(rng, rng.integers(6, length - 1))
        row = [CLS] + words
        label = [-100, -100] + [word % 3 for word in words[:-1]]
        rows.append(row)
        labels.append(label + [-100] * (length - len(label)))
    return _features(_pad(rows, length)), np.array(labels)


def span_after_marker(count, length=16, seed=0):
    """The answer is the two words right after the marker."""
    rng = np.random.default_rng(seed)
    rows, starts = [], []
    for _ in range(count):
        words = _random_sentence(rng, rng.integers(6, length - 1))
        position = rng.integers(0, len(words) - 2)
        words[position] = MARKER
        rows.append([CLS] + words)
        starts.append(position + 2)  # +1 for [CLS], +1 after the marker
    starts = np.array(starts)
    return _features(_pad(rows, length)), {
        "start_positions": starts,
        "end_positions": starts + 1,
    }


def _counting_run(start, length):
    span = VOCABULARY_SIZE - FIRST_ORDINARY
    return [FIRST_ORDINARY + (start + i) % span for i in range(length)]


def _mask(rng, row, num_masked, maskable):
    positions = sorted(rng.choice(maskable, num_masked, replace=False))
    ids = [row[p] for p in positions]
    for p in positions:
        row[p] = MASK
    return positions, ids


def counting_masked_lm(count, length=16, num_masked=3, seed=0):
    """Counting runs (5, 6, 7, ...) with masked words to fill in."""
    rng = np.random.default_rng(seed)
    rows, positions, ids = [], [], []
    for _ in range(count):
        row = [CLS] + _counting_run(rng.integers(0, 100), length - 1)
        masked, original = _mask(rng, row, num_masked, range(1, length))
        rows.append(row)
        positions.append(masked)
        ids.append(original)
    features = _features(rows)
    features["mask_positions"] = np.array(positions, "int32")
    return features, np.array(ids), np.ones((count, num_masked), "float32")


def counting_pretraining(count, half=7, num_masked=3, seed=0):
    """Counting-run pairs: is B the continuation of A? Plus masked words."""
    rng = np.random.default_rng(seed)
    rows, segments, positions, ids, labels = [], [], [], [], []
    for index in range(count):
        start = rng.integers(0, 100)
        label = index % 2
        second_start = start + half if label else rng.integers(0, 100)
        if not label and (second_start - start - half) % 35 == 0:
            second_start += 11
        first = _counting_run(start, half)
        second = _counting_run(second_start, half)
        row = [CLS] + first + [SEP] + second + [SEP]
        maskable = [i for i, token in enumerate(row) if token >= FIRST_ORDINARY]
        masked, original = _mask(rng, row, num_masked, maskable)
        rows.append(row)
        segments.append([0] * (half + 2) + [1] * (half + 1))
        positions.append(masked)
        ids.append(original)
        labels.append(label)
    features = _features(rows, segments)
    features["mask_positions"] = np.array(positions, "int32")
    labels = {
        "mask_ids": np.array(ids),
        "mask_weights": np.ones((count, num_masked), "float32"),
        "next_sentence_labels": np.array(labels),
    }
    return features, labels
