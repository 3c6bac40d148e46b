import pytest
import tensorflow as tf
import transformers

from tfzoo.data import read_conll, sample_path
from tfzoo.preprocessing import BertTokenClassifierPreprocessor
from tfzoo.tokenizers import WordPieceTokenizer, train_word_piece_vocabulary

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "anna", "visit",
              "##ed", "oslo", "in", "may"]
NAMES = ["O", "B-PER", "B-LOC", "B-MISC"]


def preprocessor(length=10):
    return BertTokenClassifierPreprocessor(
        WordPieceTokenizer(VOCABULARY), sequence_length=length,
        label_names=NAMES,
    )


def test_labels_go_to_first_sub_tokens():
    words = tf.ragged.constant([["Anna", "visited", "Oslo", "in", "May"]])
    tags = tf.ragged.constant([["B-PER", "O", "B-LOC", "O", "B-MISC"]])
    x, y = preprocessor()(words, tags)
    assert x["token_ids"].numpy().tolist() == [[2, 5, 6, 7, 8, 9, 10, 3, 0, 0]]
    assert y.numpy().tolist() == [
        [-100, 1, 0, -100, 2, 0, 3, -100, -100, -100]
    ]


def test_cut_words_and_mapping_back():
    layer = preprocessor(length=6)
    words = tf.ragged.constant([["Anna", "visited", "Oslo", "in"]])
    word_ids = layer.word_ids(words)
    assert word_ids.numpy().tolist() == [[-1, 0, 1, -1, 2, -1]]
    logits = tf.one_hot([[0, 1, 0, 0, 2, 0]], 4)
    assert layer.word_predictions(logits, word_ids).to_list() == [[1, 0, 2]]


def test_word_without_tokens_keeps_its_label():
    words = tf.ragged.constant([["Anna", "\x00", "Oslo"]])
    x, y = preprocessor()(words, tf.ragged.constant([[1, 0, 2]]))
    assert x["token_ids"].numpy()[0, :5].tolist() == [2, 5, 1, 8, 3]
    assert y.numpy()[0, :5].tolist() == [-100, 1, 0, 2, -100]


def test_unknown_tag_is_named():
    words = tf.ragged.constant([["Anna"]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="I-FOO"):
        preprocessor()(words, tf.ragged.constant([["I-FOO"]]))


def test_alignment_equals_hugging_face_word_ids(tmp_path):
    sentences, tags, _ = read_conll(sample_path("ner_test.conll"))
    vocabulary = train_word_piece_vocabulary(
        [" ".join(s) for s in sentences], 400, min_count=1
    )
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    layer = BertTokenClassifierPreprocessor(
        WordPieceTokenizer(str(path)), sequence_length=64,
        label_names=sorted({t for s in tags for t in s}),
    )
    reference = transformers.BertTokenizerFast(str(path))
    x, y = layer(tf.ragged.constant(sentences), tf.ragged.constant(tags))
    for row, words in enumerate(sentences[:40]):
        encoding = reference(words, is_split_into_words=True,
                             max_length=64, truncation=True,
                             padding="max_length")
        assert x["token_ids"].numpy()[row].tolist() == encoding["input_ids"]
        previous, expected = None, []
        for word in encoding.word_ids():
            first = word is not None and word != previous
            expected.append(
                layer.label_names.index(tags[row][word]) if first else -100
            )
            previous = word
        assert y.numpy()[row].tolist() == expected
