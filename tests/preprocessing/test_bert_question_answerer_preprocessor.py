import numpy as np
import pytest
import tensorflow as tf

from tfzoo.data import read_squad, sample_path
from tfzoo.preprocessing import BertQuestionAnswererPreprocessor
from tfzoo.tokenizers import WordPieceTokenizer, train_word_piece_vocabulary


@pytest.fixture(scope="module")
def squad():
    examples, _ = read_squad(sample_path("qa_train.json"))
    x = {
        "question": [e["question"] for e in examples],
        "context": [e["context"] for e in examples],
    }
    y = {
        "answer_start": [e["answers"][0]["answer_start"] for e in examples],
        "answer_text": [e["answers"][0]["text"] for e in examples],
    }
    vocabulary = train_word_piece_vocabulary(
        x["question"] + x["context"], 3000, min_count=1
    )
    return x, y, WordPieceTokenizer(vocabulary)


@pytest.mark.parametrize("length, stride", [(384, 128), (48, 8)])
def test_labelled_spans_are_the_answers(squad, length, stride):
    x, y, tokenizer = squad
    layer = BertQuestionAnswererPreprocessor(
        tokenizer, sequence_length=length, doc_stride=stride,
        max_question_length=24,
    )
    features, labels = layer(x, y)
    windows = layer.windows(x)
    example = windows["example_index"].numpy()
    starts = labels["start_positions"].numpy()
    ends = labels["end_positions"].numpy()
    assert features["token_ids"].shape[1] == length
    found = set()
    for row in np.flatnonzero(starts > 0):
        index = example[row]
        context = x["context"][index]
        begin = windows["token_starts"].numpy()[row, starts[row]]
        end = windows["token_ends"].numpy()[row, ends[row]]
        assert context[begin:end] == y["answer_text"][index]
        found.add(index)
    # Every answer is labelled in at least one window.
    assert found == set(range(len(x["context"])))
    if length == 48:
        assert len(example) > len(x["context"])  # long contexts split


def test_windows_cover_every_context_token(squad):
    x, _, tokenizer = squad
    layer = BertQuestionAnswererPreprocessor(
        tokenizer, sequence_length=40, doc_stride=10, max_question_length=16
    )
    windows = layer.windows(x)
    context_ids, _, _ = tokenizer.tokenize_with_offsets(x["context"])
    for index, ids in enumerate(context_ids.to_list()):
        rows = np.flatnonzero(windows["example_index"].numpy() == index)
        covered = set()
        for row in rows:
            start = windows["window_start"].numpy()[row]
            end = windows["window_end"].numpy()[row]
            covered.update(range(start, end))
        assert covered == set(range(len(ids)))


def test_answer_not_in_context_is_named(squad):
    x, y, tokenizer = squad
    layer = BertQuestionAnswererPreprocessor(tokenizer, sequence_length=128)
    bad = dict(y, answer_text=["Zanzibar"] + y["answer_text"][1:])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Zanzibar"):
        layer(x, bad)


def test_question_length_must_leave_room(squad):
    with pytest.raises(ValueError, match="max_question_length"):
        BertQuestionAnswererPreprocessor(
            squad[2], sequence_length=32, max_question_length=30
        )


def test_character_offsets_with_multibyte_text():
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "wer",
                  "?", "zoe", "cafe", "in", "koln"]
    layer = BertQuestionAnswererPreprocessor(
        WordPieceTokenizer(vocabulary), sequence_length=16
    )
    context = "Zoë café in Köln"
    x = {"question": ["Wer?"], "context": [context]}
    features, labels = layer(x, {"answer_start": [12],
                                 "answer_text": ["Köln"]})
    windows = layer.windows(x)
    start = labels["start_positions"].numpy()[0]
    end = labels["end_positions"].numpy()[0]
    begin = windows["token_starts"].numpy()[0, start]
    finish = windows["token_ends"].numpy()[0, end]
    assert context[begin:finish] == "Köln"
    spans = [
        context[a:b] for a, b in zip(windows["token_starts"].numpy()[0],
                                     windows["token_ends"].numpy()[0])
        if a >= 0
    ]
    assert spans == ["Zoë", "café", "in", "Köln"]
