"""read_parallel_file: source/target columns or language keys, in JSONL,
CSV and TSV; skipped empty sides; errors naming the file, line and fix."""

import json

import pytest

from tfzoo.data import read_parallel_file, sample_path


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path, records):
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n"
                               for r in records))


def test_the_bundled_sample():
    train, report = read_parallel_file(sample_path("translation_train.jsonl"))
    assert (train.source_column, train.target_column) == ("en", "art")
    assert len(train.sources) == len(train.targets) == 3000
    assert report.num_skipped == 0
    test, _ = read_parallel_file(sample_path("translation_test.jsonl"))
    assert not set(test.sources) & set(train.sources)  # held out


def test_source_and_target_columns_in_each_format(tmp_path):
    expected = (["Guten Morgen.", "Danke, gut."], ["Good morning.",
                                                   "Thanks, fine."])
    files = [
        jsonl(tmp_path / "a.jsonl", [
            {"source": "Guten Morgen.", "target": "Good morning.", "id": 1},
            {"source": "Danke, gut.", "target": "Thanks, fine."}]),
        write(tmp_path / "b.tsv", "id\tsource\ttarget\n1\tGuten Morgen.\t"
                                  "Good morning.\n2\tDanke, gut.\tThanks, "
                                  "fine.\n"),
        write(tmp_path / "c.csv", 'target,source\nGood morning.,Guten Morgen.'
                                  '\n"Thanks, fine.","Danke, gut."\n'),
    ]
    for path in files:
        pairs, _ = read_parallel_file(path)
        assert (pairs.sources, pairs.targets) == expected, path
        assert (pairs.source_column, pairs.target_column) == ("source",
                                                              "target")


def test_language_keys_choose_the_direction(tmp_path):
    path = jsonl(tmp_path / "pairs.jsonl", [{"de": "Ja.", "en": "Yes."},
                                            {"de": "Nein.", "en": "No."}])
    pairs, _ = read_parallel_file(path, "en")  # the other key: de
    assert (pairs.source_column, pairs.target_column) == ("en", "de")
    assert pairs.sources == ["Yes.", "No."]
    pairs, _ = read_parallel_file(path, "de", "en")
    assert pairs.targets == ["Yes.", "No."]
    three = jsonl(tmp_path / "three.jsonl", [{"de": "Ja.", "en": "Yes.",
                                              "fr": "Oui."}])
    pairs, _ = read_parallel_file(three, "en", "fr")
    assert pairs.targets == ["Oui."]
    with pytest.raises(ValueError, match=(
            r"three.jsonl, line 1: which of \['de', 'fr'\] is the target "
            r"language\? Fix: pass --target_language")):
        read_parallel_file(three, "en")


def test_empty_sides_are_skipped_and_reported(tmp_path):
    path = jsonl(tmp_path / "pairs.jsonl", [
        {"source": "Hallo.", "target": "Hello."},
        {"source": "  ", "target": "Blank source."},
        {"source": "Leeres Ziel.", "target": ""}])
    pairs, report = read_parallel_file(path)
    assert pairs.sources == ["Hallo."]
    assert report.skipped == [(2, "empty 'source'"), (3, "empty 'target'")]
    assert report.lines == [1]


@pytest.mark.parametrize("name, text, message", [
    ("empty.jsonl", "\n  \n", r"empty.jsonl holds no records. Fix: check "
                             r"the path, or add one sentence pair per line"),
    ("header_only.tsv", "source\ttarget\n", r"header_only.tsv holds no "
                                            r"records"),
    ("pairs.jsonl", '{"text": "a", "label": "b"}\n',
     r"pairs.jsonl, line 1: the record has \['label', 'text'\], neither "
     r"'source' and 'target' columns nor the language keys 'en' and one "
     r"other. Fix: name the columns source and target"),
    ("pairs.jsonl", '{"source": "a", "target": "b"}\n{"source": "c"}\n',
     r"pairs.jsonl, line 2: no 'target' field \(line 1 has one"),
    ("pairs.jsonl", '{"source": "a", "target": 3}\n',
     r"pairs.jsonl, line 1: 'target' must be a string, got 3"),
    ("pairs.jsonl", '{"source": "a", "target": "b"}\n{"source": \n',
     r"pairs.jsonl, line 2: malformed JSON"),
    ("pairs.tsv", "source\ttarget\na\tb\tc\n",
     r"pairs.tsv, line 2: 3 fields but the header has 2 columns"),
    ("pairs.jsonl", '{"source": " ", "target": "b"}\n',
     r"pairs.jsonl: all 1 records were skipped, the first at line 1 "
     r"\(empty 'source'\)"),
    ("pairs.txt", "a\tb\n", r"pairs.txt: unsupported file extension "
                            r"'.txt'. Fix: use one of .jsonl, .csv, .tsv"),
])
def test_bad_files_are_errors_naming_the_line(tmp_path, name, text,
                                              message):
    path = write(tmp_path / name, text)
    with pytest.raises(ValueError, match=message):
        read_parallel_file(path)


def test_a_language_the_file_lacks(tmp_path):
    path = jsonl(tmp_path / "pairs.jsonl", [{"de": "Ja.", "en": "Yes."}])
    with pytest.raises(ValueError, match=(
            r"the record has \['de', 'en'\], neither 'source' and 'target' "
            r"columns nor the language keys 'en' and 'fr'.*pass the "
            r"--source_language and --target_language the file uses")):
        read_parallel_file(path, "en", "fr")


def test_the_sample_needs_translating_not_copying():
    """No Artlang word occurs on the English side, and the verb is last."""
    import re

    pairs, _ = read_parallel_file(sample_path("translation_train.jsonl"))
    words = lambda texts: {w for t in texts  # noqa: E731
                           for w in re.findall(r"\w+", t.lower())}
    assert not words(pairs.sources) & words(pairs.targets)
    verbs = {"vid", "trov", "port", "vol", "konstr", "ten", "pinkt", "am",
             "dorm", "kant", "kur", "atend"}
    for target in pairs.targets[:50]:
        last = target.rstrip(".").split()[-1]
        assert re.sub(r"(e|en|u|un)$", "", last) in verbs, target
