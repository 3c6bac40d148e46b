import json

import pytest

from tfzoo.data import encode_labels
from tfzoo.data import label_vocabulary
from tfzoo.data import read_classification_file
from tfzoo.data import sample_path

BAD_LABEL = "'label' must be a non-empty string or an int"


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_jsonl(path, records):
    return write_lines(path, [json.dumps(record) for record in records])


def test_sentiment_train_sample():
    path = sample_path("sentiment_train.jsonl")
    examples, report = read_classification_file(path)
    assert sorted(examples) == ["label", "text"]
    assert len(examples["text"]) == len(examples["label"]) == 480
    assert examples["label"].count("positive") == 240
    assert label_vocabulary(examples["label"]) == ["negative", "positive"]
    assert report.kept == 480 and report.skipped == []


def test_sentiment_pairs_test_sample():
    path = sample_path("sentiment_pairs_test.jsonl")
    examples, report = read_classification_file(
        path, text_pair_column="text_pair"
    )
    assert len(examples["text_pair"]) == 80
    labels = label_vocabulary(examples["label"])
    assert labels == ["contradiction", "entailment"]
    assert examples["text"][0] != examples["text_pair"][0]
    assert report.kept == 80


def test_jsonl_keeps_int_labels_and_custom_columns(tmp_path):
    path = write_jsonl(
        tmp_path / "data.jsonl",
        [{"sentence": "good", "y": 1}, {"sentence": "bad", "y": 0}],
    )
    examples, _ = read_classification_file(
        path, text_column="sentence", label_column="y"
    )
    assert examples == {"text": ["good", "bad"], "label": [1, 0]}


def test_blank_lines_are_ignored_and_empty_texts_are_reported(tmp_path):
    path = write_lines(
        tmp_path / "data.jsonl",
        [
            json.dumps({"text": "fine", "label": "a"}),
            "   ",
            json.dumps({"text": "  ", "label": "b"}),
            "",
            json.dumps({"text": "also fine", "label": "b"}),
            json.dumps({"text": "", "label": "a"}),
        ],
    )
    examples, report = read_classification_file(path)
    assert examples["text"] == ["fine", "also fine"]
    assert report.kept == 2
    assert report.skipped == [(3, "empty 'text'"), (6, "empty 'text'")]
    assert "kept 2, skipped 2" in report.summary()
    assert "line 6: empty 'text'" in report.summary()


def test_empty_text_pair_is_reported(tmp_path):
    path = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {"text": "a", "text_pair": "b", "label": "x"},
            {"text": "c", "text_pair": " ", "label": "y"},
        ],
    )
    examples, report = read_classification_file(
        path, text_pair_column="text_pair"
    )
    assert examples == {"text": ["a"], "text_pair": ["b"], "label": ["x"]}
    assert report.skipped == [(2, "empty 'text_pair'")]


def test_csv_with_quotes_and_a_multiline_field(tmp_path):
    path = write_lines(
        tmp_path / "data.csv",
        [
            "text,label",
            '"Good, really good",positive',
            '"two',
            'lines",negative',
            "",
            ",negative",
            "plain,1",
        ],
    )
    examples, report = read_classification_file(path)
    assert examples["text"] == ["Good, really good", "two\nlines", "plain"]
    assert examples["label"] == ["positive", "negative", "1"]
    assert report.skipped == [(6, "empty 'text'")]


def test_tsv_does_not_treat_quotes_specially(tmp_path):
    path = write_lines(
        tmp_path / "data.tsv",
        [
            "premise\thypothesis\tlabel",
            'He said "hi\tShe said "bye"\tentailment',
        ],
    )
    examples, _ = read_classification_file(
        path, text_column="premise", text_pair_column="hypothesis"
    )
    assert examples == {
        "text": ['He said "hi'],
        "text_pair": ['She said "bye"'],
        "label": ["entailment"],
    }


def test_unsupported_extension_names_the_supported_ones(tmp_path):
    path = write_lines(tmp_path / "data.txt", ["hello"])
    with pytest.raises(
        ValueError, match=r"data\.txt.*'\.txt'.*\.jsonl, \.csv, \.tsv"
    ):
        read_classification_file(path)


def test_missing_jsonl_key_names_line_and_existing_columns(tmp_path):
    path = write_jsonl(
        tmp_path / "data.jsonl",
        [{"text": "ok", "label": "a"}, {"text": "ok", "sentiment": "a"}],
    )
    with pytest.raises(
        ValueError,
        match=r"data\.jsonl, line 2: no column 'label'.*'sentiment', 'text'",
    ):
        read_classification_file(path)


def test_missing_text_pair_column_is_an_error(tmp_path):
    path = write_jsonl(tmp_path / "data.jsonl", [{"text": "ok", "label": "a"}])
    with pytest.raises(ValueError, match=r"line 1: no column 'hypothesis'"):
        read_classification_file(path, text_pair_column="hypothesis")


def test_missing_csv_column_names_the_header_line_and_columns(tmp_path):
    path = write_lines(tmp_path / "data.csv", ["", "sentence,label", "hi,a"])
    with pytest.raises(
        ValueError,
        match=r"data\.csv, line 2: the header has no column 'text'.*"
        r"'sentence', 'label'",
    ):
        read_classification_file(path)


def test_csv_row_with_wrong_field_count(tmp_path):
    lines = ["text,label", "a,b", "x, y, z,b"]
    path = write_lines(tmp_path / "data.csv", lines)
    with pytest.raises(
        ValueError, match=r"data\.csv, line 3: 4 fields but the header has 2"
    ):
        read_classification_file(path)


@pytest.mark.parametrize(
    "name, lines",
    [
        ("empty.jsonl", []),
        ("blank.jsonl", ["", "   "]),
        ("header_only.csv", ["text,label"]),
    ],
)
def test_file_without_records(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{name} holds no records"):
        read_classification_file(path)


def test_all_records_skipped_is_an_error(tmp_path):
    path = write_jsonl(tmp_path / "data.jsonl", [{"text": " ", "label": "a"}])
    with pytest.raises(
        ValueError, match=r"data\.jsonl: all 1 records were skipped.*line 1"
    ):
        read_classification_file(path)


def test_malformed_json_names_the_line(tmp_path):
    path = write_lines(
        tmp_path / "data.jsonl",
        [
            json.dumps({"text": "a", "label": "b"}),
            '{"text": "oops", "label": }',
        ],
    )
    with pytest.raises(ValueError, match=r"data\.jsonl, line 2: malformed"):
        read_classification_file(path)


def test_json_line_that_is_not_an_object(tmp_path):
    path = write_lines(tmp_path / "data.jsonl", ['["text", "label"]'])
    with pytest.raises(
        ValueError, match=r"data\.jsonl, line 1: expected a JSON object"
    ):
        read_classification_file(path)


@pytest.mark.parametrize(
    "extension, good, bad",
    [
        ("jsonl", b'{"text": "ok", "label": "a"}', b'{"text": "caf\xe9"}'),
        ("csv", b"text,label", b"caf\xe9,a"),
    ],
)
def test_non_utf8_bytes_name_the_line(tmp_path, extension, good, bad):
    path = tmp_path / f"data.{extension}"
    path.write_bytes(good + b"\n" + good + b"\n" + bad + b"\n")
    with pytest.raises(
        ValueError, match=rf"data\.{extension}, line 3: .*not valid UTF-8"
    ):
        read_classification_file(path)


@pytest.mark.parametrize(
    "record, message",
    [
        ({"text": 5, "label": "a"}, "'text' must be a string"),
        ({"text": "ok", "label": None}, BAD_LABEL),
        ({"text": "ok", "label": ""}, BAD_LABEL),
        ({"text": "ok", "label": 1.5}, BAD_LABEL),
    ],
)
def test_bad_value_types_name_the_line(tmp_path, record, message):
    records = [{"text": "fine", "label": "a"}, record]
    path = write_jsonl(tmp_path / "data.jsonl", records)
    with pytest.raises(ValueError, match=rf"data\.jsonl, line 2: {message}"):
        read_classification_file(path)


def test_label_vocabulary_sorts_ints_numerically():
    assert label_vocabulary([10, 2, 1, 2]) == [1, 2, 10]
    assert label_vocabulary(["b", "a", "b"]) == ["a", "b"]


def test_label_vocabulary_refuses_mixed_types():
    with pytest.raises(ValueError, match="all strings or all ints"):
        label_vocabulary([1, "1"])


def test_encode_labels_round_trip():
    labels = ["pos", "neg", "neutral", "pos"]
    names = label_vocabulary(labels)
    ids = encode_labels(labels, names)
    assert ids == [2, 0, 1, 2]
    assert [names[i] for i in ids] == labels


def test_encode_labels_names_the_unknown_label_index_file_and_known_labels():
    with pytest.raises(
        ValueError,
        match=r"train\.jsonl: unknown label 'maybe' at index 2; "
        r"the known labels are \['no', 'yes'\]",
    ):
        encode_labels(
            ["yes", "no", "maybe", "perhaps"], ["no", "yes"], path="train.jsonl"
        )


def test_encode_labels_does_not_confuse_true_with_one():
    with pytest.raises(ValueError, match="unknown label True at index 0"):
        encode_labels([True], [0, 1])
