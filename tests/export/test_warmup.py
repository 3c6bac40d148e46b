import numpy as np
import pytest
import tensorflow as tf

from tests.export.servables import serve
from tests.export.warmup_checks import check_warmup, warmup_calls
from tfzoo.export import read_warmup_file, replay_inputs
from tfzoo.export.warmup import (
    classify_log,
    filler_text,
    length_buckets,
    predict_log,
    write_warmup_file,
)
from tfzoo.preprocessing.length_buckets import sequence_buckets
from tfzoo.tokenizers import WordPieceTokenizer


def test_classifier_warmup_covers_signatures_and_length_buckets(
    pair_classifier, pair_classifier_export
):
    calls = warmup_calls(pair_classifier_export)
    check_warmup(pair_classifier, pair_classifier_export, serve(calls))


def test_filler_text_has_the_requested_number_of_tokens(tokenizer):
    for count in (1, 5, 40):
        text = filler_text(tokenizer, count)
        assert tokenizer.tokenize([text]).row_lengths().numpy()[0] == count


def test_filler_text_needs_a_one_token_word():
    only_special = WordPieceTokenizer(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "##s"]
    )
    with pytest.raises(ValueError, match="single token"):
        filler_text(only_special, 3)


def test_length_buckets_grow_from_short_to_over_and_fill_each_bucket():
    for capacity, sequence_length in ((1, 3), (6, 8), (13, 16), (126, 128),
                                      (381, 384)):
        buckets = length_buckets(capacity, sequence_length)
        names = list(buckets)
        assert names[:2] == ["short", "medium"]
        assert names[-2:] == ["full", "over"]
        assert 1 <= buckets["short"] <= buckets["medium"] <= capacity
        assert buckets["full"] == capacity < buckets["over"]
        overhead = sequence_length - capacity
        for bucket in sequence_buckets(sequence_length)[:-1]:
            assert buckets[f"fills {bucket}"] + overhead == bucket


def test_records_round_trip(tmp_path):
    ids = np.arange(6, dtype="int32").reshape(2, 3)
    write_warmup_file(str(tmp_path), [
        predict_log("predict_token_ids", {"token_ids": ids}),
        classify_log("classify", [{"text": "café 東京"}]),
    ])
    first, second = read_warmup_file(str(tmp_path))
    name, inputs = replay_inputs(first)
    assert name == "predict_token_ids"
    assert inputs["token_ids"].dtype == np.int32
    np.testing.assert_array_equal(inputs["token_ids"], ids)
    name, inputs = replay_inputs(second)
    assert name == "classify"
    example = tf.train.Example.FromString(inputs["inputs"][0])
    text = example.features.feature["text"].bytes_list.value[0]
    assert text.decode() == "café 東京"


def test_record_count_is_checked(tmp_path):
    log = predict_log("serving_default", {"text": ["hi"]})
    with pytest.raises(ValueError, match="1 to 1000"):
        write_warmup_file(str(tmp_path), [log] * 1001)
    with pytest.raises(ValueError, match="1 to 1000"):
        write_warmup_file(str(tmp_path), [])
