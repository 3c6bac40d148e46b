import pytest
import tensorflow as tf

from tfzoo.preprocessing import BertClassifierPreprocessor
from tfzoo.tokenizers import WordPieceTokenizer

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad",
              "film", "book", "."]


def preprocessor(label_names=("negative", "positive")):
    return BertClassifierPreprocessor(
        WordPieceTokenizer(VOCABULARY), sequence_length=8,
        label_names=label_names,
    )


def test_text_pairs_as_tuple_or_dict():
    layer = preprocessor()
    from_tuple = layer((["good film"], ["bad book."]))
    from_dict = layer({"text": ["good film"], "text_pair": ["bad book."]})
    expected = [[2, 5, 7, 3, 6, 8, 9, 3]]
    assert from_tuple["token_ids"].numpy().tolist() == expected
    assert from_dict["token_ids"].numpy().tolist() == expected
    assert from_dict["segment_ids"].numpy().tolist() == [[0] * 4 + [1] * 4]


def test_label_names_and_ids():
    layer = preprocessor()
    _, y = layer(["good", "bad"], ["positive", "negative"])
    assert y.numpy().tolist() == [1, 0]
    _, y, weights = layer(["good"], [1], [0.5])
    assert y.numpy().tolist() == [1] and weights == [0.5]


def test_unknown_label_is_named():
    with pytest.raises(tf.errors.InvalidArgumentError, match="neutral"):
        preprocessor()(["good"], ["neutral"])


def test_label_id_out_of_range():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"outside \[0, 2\)"):
        preprocessor()(["good"], [2])


def test_string_labels_need_label_names():
    with pytest.raises(ValueError, match="label_names"):
        preprocessor(label_names=None)(["good"], ["positive"])


def test_bad_dict_keys():
    with pytest.raises(ValueError, match="'text'"):
        preprocessor()({"sentence": ["good"]})
