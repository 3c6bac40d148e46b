import collections

import numpy as np
import pytest

import tfzoo
from tfzoo.preprocessing.next_sentence_pairs import make_next_sentence_pairs
from tfzoo.tokenizers import WordPieceTokenizer


@pytest.fixture(scope="module")
def corpus():
    return tfzoo.data.read_text_corpus(
        tfzoo.data.sample_path("pretrain_corpus.txt")
    )


@pytest.fixture(scope="module")
def tokenizer(corpus):
    sentences = [sentence for document in corpus for sentence in document]
    vocabulary = tfzoo.tokenizers.train_word_piece_vocabulary(sentences, 2000)
    return WordPieceTokenizer(vocabulary)


@pytest.fixture(scope="module")
def pairs(corpus, tokenizer):
    return make_next_sentence_pairs(corpus, tokenizer, 64, seed=0)


def runs_by_text(corpus):
    """Joined text of every run of consecutive sentences -> (doc, start, end)."""
    runs = collections.defaultdict(set)
    for index, document in enumerate(corpus):
        for start in range(len(document)):
            for end in range(start + 1, len(document) + 1):
                runs[" ".join(document[start:end])].add((index, start, end))
    return runs


def test_output_structure(pairs):
    labels = pairs["next_sentence_labels"]
    assert isinstance(labels, np.ndarray) and labels.dtype == np.int32
    assert len(pairs["first"]) == len(pairs["second"]) == len(labels) > 200
    assert set(np.unique(labels)) == {0, 1}
    assert all(isinstance(text, str) for text in pairs["first"])
    assert pairs["truncated_sentences"] == 0


def test_labels_are_balanced(pairs):
    assert abs(pairs["next_sentence_labels"].mean() - 0.5) < 0.1


def test_no_empty_texts(pairs):
    assert all(text.strip() for text in pairs["first"] + pairs["second"])


def test_positives_continue_the_first_text(corpus, pairs):
    runs = runs_by_text(corpus)
    positives = 0
    for first, second, label in zip(
        pairs["first"], pairs["second"], pairs["next_sentence_labels"]
    ):
        if label != 1:
            continue
        positives += 1
        assert any(
            (index, end, second_end) in runs[second]
            for index, _, end in runs[first]
            for _, _, second_end in runs[second]
        ), (first, second)
    assert positives > 100


def test_negatives_come_from_another_document(corpus, pairs):
    runs = runs_by_text(corpus)
    for first, second, label in zip(
        pairs["first"], pairs["second"], pairs["next_sentence_labels"]
    ):
        if label != 0:
            continue
        first_documents = {index for index, _, _ in runs[first]}
        second_documents = {index for index, _, _ in runs[second]}
        assert first_documents and second_documents, (first, second)
        assert any(
            a != b for a in first_documents for b in second_documents
        ), (first, second)


def test_negatives_never_pair_a_document_with_itself(tokenizer):
    # Distinct words per document make every text's source unambiguous.
    words = ["alpha", "beta", "gamma", "delta"]
    corpus = [
        [f"{word} {number} ." for number in range(6)] for word in words
    ]
    pairs = make_next_sentence_pairs(corpus, tokenizer, 16, seed=3)
    labels = pairs["next_sentence_labels"]
    assert 0 in labels and 1 in labels
    for first, second, label in zip(pairs["first"], pairs["second"], labels):
        same = first.split()[0] == second.split()[0]
        assert same == (label == 1), (first, second, label)


def test_deterministic_for_a_seed(corpus, tokenizer, pairs):
    again = make_next_sentence_pairs(corpus, tokenizer, 64, seed=0)
    other = make_next_sentence_pairs(corpus, tokenizer, 64, seed=1)
    assert again["first"] == pairs["first"]
    assert again["second"] == pairs["second"]
    np.testing.assert_array_equal(
        again["next_sentence_labels"], pairs["next_sentence_labels"]
    )
    assert other["first"] != pairs["first"]


def test_short_sequences_and_truncated_sentences(corpus, tokenizer):
    pairs = make_next_sentence_pairs(corpus, tokenizer, 16, seed=0)
    assert pairs["truncated_sentences"] > 0
    assert abs(pairs["next_sentence_labels"].mean() - 0.5) < 0.1
    # With always-short targets, pairs hold fewer sentences.
    long_pairs = make_next_sentence_pairs(
        corpus, tokenizer, 128, short_sequence_probability=0.0
    )
    short_pairs = make_next_sentence_pairs(
        corpus, tokenizer, 128, short_sequence_probability=1.0
    )
    assert len(short_pairs["first"]) > len(long_pairs["first"])


def test_single_sentence_documents_only_serve_as_second_texts(tokenizer):
    corpus = [["lonely ."], ["one a .", "one b .", "one c ."]]
    pairs = make_next_sentence_pairs(corpus, tokenizer, 64, seed=0)
    assert "lonely ." not in pairs["first"]
    for second, label in zip(pairs["second"], pairs["next_sentence_labels"]):
        assert (second == "lonely .") == (label == 0)


def test_errors(corpus, tokenizer):
    with pytest.raises(ValueError, match="at least 2 non-empty documents"):
        make_next_sentence_pairs(corpus[:1], tokenizer, 64)
    with pytest.raises(ValueError, match="at least 2 non-empty documents"):
        make_next_sentence_pairs([["a b ."], ["  "], []], tokenizer, 64)
    with pytest.raises(ValueError, match="No pair could be made"):
        make_next_sentence_pairs([["a ."], ["b ."]], tokenizer, 64)
    with pytest.raises(ValueError, match="sequence_length"):
        make_next_sentence_pairs(corpus, tokenizer, 4)
    with pytest.raises(ValueError, match="short_sequence_probability"):
        make_next_sentence_pairs(corpus, tokenizer, 64, 1.5)
    with pytest.raises(ValueError, match="list of sentence strings"):
        make_next_sentence_pairs(["a b .", "c d ."], tokenizer, 64)


def test_unpaired_sentences_are_counted():
    tokenizer = WordPieceTokenizer(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "."]
    )
    # The one-sentence document can start no pair.
    documents = [["a ."], ["a a .", "b b ."], ["b a .", "a b ."]]
    pairs = make_next_sentence_pairs(documents, tokenizer, 32, seed=3)
    assert "a ." not in pairs["first"]
    # Each two-sentence document leaves its last sentence unpaired after a
    # label-0 pair, and none after a label-1 pair.
    expected = 1 + sum(1 - label for label in pairs["next_sentence_labels"])
    assert pairs["unpaired_sentences"] == expected
