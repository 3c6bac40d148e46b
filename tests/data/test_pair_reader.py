import json

import pytest

from tfzoo.data import read_pair_file
from tfzoo.data import sample_path


def write_lines(path, lines, encoding="utf-8"):
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def write_jsonl(path, records):
    return write_lines(path, [json.dumps(record) for record in records])


def test_paraphrase_samples():
    train, report = read_pair_file(sample_path("paraphrase_train.jsonl"))
    assert sorted(train) == ["score", "text", "text_pair"]
    assert len(train["text"]) == report.kept == 360
    assert set(train["score"]) == {0.0, 2.0, 3.0, 5.0}
    test, _ = read_pair_file(sample_path("paraphrase_test.jsonl"))
    assert len(test["text"]) == 120
    # No pair of the test set is a training pair.
    assert not (set(zip(train["text"], train["text_pair"]))
                & set(zip(test["text"], test["text_pair"])))


def test_jsonl_pairs_negatives_and_custom_columns(tmp_path):
    path = write_jsonl(tmp_path / "pairs.jsonl", [
        {"q": "stop my plan", "d": "Cancelling a plan", "neg": "Renewing"},
        {"q": "fix it", "d": "Repairs", "neg": "Prices"},
    ])
    pairs, report = read_pair_file(path, text_column="q",
                                   text_pair_column="d",
                                   negative_column="neg")
    assert pairs == {"text": ["stop my plan", "fix it"],
                     "text_pair": ["Cancelling a plan", "Repairs"],
                     "negative": ["Renewing", "Prices"]}
    assert report.lines == [1, 2]


def test_csv_and_tsv_scores_are_floats(tmp_path):
    csv_path = write_lines(tmp_path / "pairs.csv", [
        "text,text_pair,score", '"Hi, there",Hello,4.5', "a,b,0"])
    pairs, _ = read_pair_file(csv_path)
    assert pairs == {"text": ["Hi, there", "a"], "text_pair": ["Hello", "b"],
                     "score": [4.5, 0.0]}
    tsv_path = write_lines(tmp_path / "pairs.tsv", [
        "text\ttext_pair", "one\tuno", "two\tdos"])
    pairs, _ = read_pair_file(tsv_path)
    assert pairs == {"text": ["one", "two"], "text_pair": ["uno", "dos"]}


def test_empty_texts_are_skipped_and_reported(tmp_path):
    path = write_jsonl(tmp_path / "pairs.jsonl", [
        {"text": "a", "text_pair": "b", "score": 1},
        {"text": "  ", "text_pair": "b", "score": 2},
        {"text": "c", "text_pair": "", "score": 3},
    ])
    pairs, report = read_pair_file(path)
    assert pairs["text"] == ["a"] and pairs["score"] == [1.0]
    assert report.skipped == [(2, "empty 'text'"), (3, "empty 'text_pair'")]
    assert report.summary().startswith("pairs.jsonl: kept 1, skipped 2")


@pytest.mark.parametrize("records, message", [
    ([{"text": "a"}],
     r"pairs.jsonl, line 1: no text_pair field 'text_pair'; the record has "
     r"\['text'\]"),
    ([{"text": "a", "text_pair": "b", "score": 1},
      {"text": "c", "text_pair": "d"}],
     r"line 2: no score field 'score' \(line 1 has one, so every record "
     r"needs it\)"),
    ([{"text": "a", "text_pair": "b", "score": "high"}],
     r"line 1: 'score' must be a finite number, got 'high'"),
    ([{"text": "a", "text_pair": "b", "score": None}],
     r"line 1: 'score' must be a finite number, got None"),
    ([{"text": "a", "text_pair": 7}],
     r"line 1: 'text_pair' must be a string, got 7"),
    ([{"text": "a", "text_pair": "b", "score": 1, "negative": "c"}],
     r"line 1: the record has both a score"),
    ([], r"pairs.jsonl holds no records"),
    ([{"text": "", "text_pair": "b"}],
     r"all 1 records were skipped, the first at line 1"),
])
def test_bad_pairs_name_file_and_line(tmp_path, records, message):
    path = write_jsonl(tmp_path / "pairs.jsonl", records)
    if not records:
        path.write_text("")
    with pytest.raises(ValueError, match=message):
        read_pair_file(path)


def test_bad_files(tmp_path):
    path = write_lines(tmp_path / "pairs.csv", ["text,score", "a,1"])
    with pytest.raises(ValueError, match=r"pairs.csv, line 1: the header has "
                       r"no column 'text_pair'"):
        read_pair_file(path)
    path = write_lines(tmp_path / "pairs.jsonl", ['{"text": "a"'])
    with pytest.raises(ValueError, match=r"pairs.jsonl, line 1: malformed "
                       r"JSON"):
        read_pair_file(path)
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"text": "a", "text_pair": "b"}\n'
                     b'{"text": "caf\xe9", "text_pair": "b"}\n')
    with pytest.raises(ValueError, match=r"latin.jsonl, line 2: the bytes "
                       r"are not valid UTF-8"):
        read_pair_file(path)
    with pytest.raises(ValueError, match=r"unsupported file extension "
                       r"'.txt'"):
        read_pair_file(tmp_path / "pairs.txt")
