import json

import pytest

from tfzoo.data import read_squad
from tfzoo.data import sample_path

CONTEXT = "Mira founded Lumo in Oslo. Lumo moved to Bergen in 1990."


def write_json(path, value):
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def squad_file(tmp_path, qas, name="data.json"):
    paragraph = {"context": CONTEXT, "qas": qas}
    article = {"title": "Lumo", "paragraphs": [paragraph]}
    return write_json(tmp_path / name, {"version": "2.0", "data": [article]})


def question(question_id, text, start, **extra):
    answers = [] if text is None else [{"text": text, "answer_start": start}]
    return {"id": question_id, "question": "Where?", "answers": answers} | extra


def test_qa_train_sample():
    examples, report = read_squad(sample_path("qa_train.json"))
    assert len(examples) == 180
    assert len({example["context"] for example in examples}) == 60
    assert report.kept == 180 and report.skipped == []
    first = examples[0]
    assert first["id"] == "tr-000-0" and first["title"] == "Lake Fiorawen"
    assert first["is_impossible"] is False
    for example in examples:
        for answer in example["answers"]:
            text, start = answer["text"], answer["answer_start"]
            assert example["context"][start:start + len(text)] == text


def test_qa_test_sample():
    examples, _ = read_squad(sample_path("qa_test.json"))
    assert len(examples) == 45


def test_correct_answers_and_v2_impossible_questions(tmp_path):
    impossible = question("q2", None, None, is_impossible=True)
    path = squad_file(tmp_path, [question("q1", "Oslo", 21), impossible])
    examples, report = read_squad(path)
    common = {"title": "Lumo", "question": "Where?", "context": CONTEXT}
    assert examples == [
        {
            "id": "q1",
            **common,
            "answers": [{"text": "Oslo", "answer_start": 21}],
            "is_impossible": False,
        },
        {"id": "q2", **common, "answers": [], "is_impossible": True},
    ]
    assert report.kept == 2 and report.skipped == []


def test_wrong_start_of_a_unique_answer_is_corrected_silently(tmp_path):
    path = squad_file(tmp_path, [question("q1", "Bergen", 3)])
    examples, report = read_squad(path)
    assert examples[0]["answers"] == [{"text": "Bergen", "answer_start": 41}]
    assert report.skipped == []


def test_ambiguous_or_absent_answers_skip_the_question(tmp_path):
    qas = [
        question("ambiguous", "Lumo", 0),
        question("absent", "Trondheim", 5),
        question("fine", "Lumo", 13),
        question("unanswered", None, None),
    ]
    examples, report = read_squad(squad_file(tmp_path, qas))
    assert [example["id"] for example in examples] == ["fine"]
    assert report.kept == 1
    skipped_ids = [where for where, _ in report.skipped]
    assert skipped_ids == ["ambiguous", "absent", "unanswered"]
    assert "found 2 times" in report.skipped[0][1]
    assert "not found" in report.skipped[1][1]
    assert "not marked is_impossible" in report.skipped[2][1]
    assert "id ambiguous:" in report.summary()


def test_missing_title_reads_as_empty(tmp_path):
    paragraph = {"context": CONTEXT, "qas": [question("q1", "Oslo", 21)]}
    data = {"data": [{"paragraphs": [paragraph]}]}
    examples, _ = read_squad(write_json(tmp_path / "data.json", data))
    assert examples[0]["title"] == ""


QUESTION_1 = r"data\.json, article 0, paragraph 0, question 1"


@pytest.mark.parametrize(
    "missing, match",
    [
        ("question", r" \(id 'q2'\): missing key 'question'"),
        ("id", r": missing key 'id'"),
        ("answers", r" \(id 'q2'\): missing key 'answers'"),
        ("answer_start", r" \(id 'q2'\), answer 0: missing key 'answer_start'"),
    ],
)
def test_missing_question_keys_name_file_key_and_index(
    tmp_path, missing, match
):
    broken = question("q2", "Oslo", 21)
    if missing == "answer_start":
        del broken["answers"][0]["answer_start"]
    else:
        del broken[missing]
    path = squad_file(tmp_path, [question("q1", "Oslo", 21), broken])
    with pytest.raises(ValueError, match=QUESTION_1 + match):
        read_squad(path)


def test_missing_context_names_the_paragraph(tmp_path):
    paragraphs = [{"context": CONTEXT, "qas": []}, {"qas": []}]
    data = {"data": [{"title": "t", "paragraphs": paragraphs}]}
    path = write_json(tmp_path / "data.json", data)
    with pytest.raises(
        ValueError,
        match=r"data\.json, article 0, paragraph 1: missing key 'context'",
    ):
        read_squad(path)


def test_missing_data_key(tmp_path):
    path = write_json(tmp_path / "data.json", {"version": "1.1"})
    with pytest.raises(
        ValueError, match=r"data\.json, the top level: missing key 'data'"
    ):
        read_squad(path)


def test_answer_start_must_be_an_int(tmp_path):
    path = squad_file(tmp_path, [question("q1", "Oslo", "21")])
    with pytest.raises(
        ValueError, match=r"data\.json, .*answer 0: 'text' must be a string"
    ):
        read_squad(path)


def test_duplicate_question_ids_are_an_error(tmp_path):
    qas = [question("q1", "Oslo", 21), question("q1", "Oslo", 21)]
    path = squad_file(tmp_path, qas)
    with pytest.raises(
        ValueError, match=r"data\.json, .*question id 'q1' is used twice"
    ):
        read_squad(path)


def test_invalid_json_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"data": [', encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.json: invalid JSON"):
        read_squad(path)


def test_non_utf8_names_the_file(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"data": [{"title": "Z\xfcrich"}]}')
    with pytest.raises(ValueError, match=r"latin\.json: not valid UTF-8"):
        read_squad(path)


def test_file_without_questions(tmp_path):
    path = write_json(tmp_path / "empty.json", {"data": []})
    with pytest.raises(ValueError, match=r"empty\.json holds no questions"):
        read_squad(path)
