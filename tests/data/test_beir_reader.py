import json
import os

import pytest

from tfzoo.data import read_beir
from tfzoo.data import sample_path


def write_set(directory, corpus, queries, qrels, split="test"):
    """Writes a BEIR-layout directory; `qrels` are TSV lines."""
    os.makedirs(directory / "qrels", exist_ok=True)
    for name, records in (("corpus.jsonl", corpus),
                          ("queries.jsonl", queries)):
        (directory / name).write_text(
            "".join((r if isinstance(r, str) else json.dumps(r)) + "\n"
                    for r in records), encoding="utf-8")
    (directory / "qrels" / f"{split}.tsv").write_text(
        "".join(line + "\n" for line in qrels), encoding="utf-8")
    return directory


CORPUS = [{"_id": "d1", "title": "Refunds", "text": "Money goes back."},
          {"_id": "d2", "text": "Open from six."},
          {"_id": 3, "title": "Pricing", "text": ""}]
QUERIES = [{"_id": "q1", "text": "get my money back"},
           {"_id": "q2", "text": "opening hours"},
           {"_id": "q3", "text": "unjudged"}]
QRELS = ["query-id\tcorpus-id\tscore", "q1\td1\t1", "q2\td2\t2",
         "q2\t3\t0"]


def test_faq_sample_splits():
    directory = sample_path("faq_retrieval")
    train, reports = read_beir(directory, "train")
    test, _ = read_beir(directory, "test")
    assert len(train.corpus_ids) == len(set(train.corpus_ids)) == 300
    assert len(train.queries) == len(test.queries) == 60
    assert not set(train.queries) & set(test.queries)
    # Train and test queries ask for different FAQ entries.
    train_documents = {d for docs in train.relevant.values() for d in docs}
    test_documents = {d for docs in test.relevant.values() for d in docs}
    assert not train_documents & test_documents
    assert [report.num_skipped for report in reports] == [0, 0, 0]
    assert train.documents()[0] == (
        f"{train.corpus_titles[0]}. {train.corpus_texts[0]}")


def test_reads_the_layout(tmp_path):
    data, reports = read_beir(write_set(tmp_path, CORPUS, QUERIES, QRELS))
    assert data.corpus_ids == ["d1", "d2", "3"]
    assert data.documents() == ["Refunds. Money goes back.",
                                "Open from six.", "Pricing. "]
    # Only the queries judged in the split.
    assert data.queries == {"q1": "get my money back", "q2": "opening hours"}
    assert data.relevant == {"q1": {"d1": 1}, "q2": {"d2": 2, "3": 0}}
    assert [report.kept for report in reports] == [3, 3, 3]


def test_qrels_without_header_and_empty_records_are_skipped(tmp_path):
    corpus = CORPUS + [{"_id": "d4", "title": " ", "text": " "}]
    queries = QUERIES + [{"_id": "q4", "text": ""}]
    qrels = ["q1\td1\t1", "", "q4\td1\t1"]
    data, (corpus_report, query_report, qrels_report) = read_beir(
        write_set(tmp_path, corpus, queries, qrels))
    assert data.relevant == {"q1": {"d1": 1}}
    assert corpus_report.skipped == [(4, "empty text (id 'd4')")]
    assert query_report.skipped == [(4, "empty text (id 'q4')")]
    assert qrels_report.skipped == [(3, "query 'q4' was skipped")]


@pytest.mark.parametrize("corpus, queries, qrels, message", [
    ([], QUERIES, QRELS, r"corpus.jsonl: the corpus is empty"),
    (CORPUS + [{"_id": "d1", "text": "again"}], QUERIES, QRELS,
     r"corpus.jsonl, line 4: duplicate _id 'd1' \(first at line 1\)"),
    (CORPUS, QUERIES + [{"_id": "q1", "text": "again"}], QRELS,
     r"queries.jsonl, line 4: duplicate _id 'q1'"),
    ([{"title": "no id", "text": "x"}], QUERIES, QRELS,
     r"corpus.jsonl, line 1: no '_id' field"),
    ([{"_id": "d1", "title": "no text"}], QUERIES, QRELS,
     r"corpus.jsonl, line 1: no 'text' field"),
    (CORPUS, ['{"_id": "q1", "text": "broken'], QRELS,
     r"queries.jsonl, line 1: malformed JSON"),
    (CORPUS, QUERIES, ["q1\td9\t1"],
     r"test.tsv, line 1: document 'd9' is not in corpus.jsonl"),
    (CORPUS, QUERIES, ["q1\td1\t1", "q7\td1\t1"],
     r"test.tsv, line 2: query 'q7' is not in queries.jsonl"),
    (CORPUS, QUERIES, ["q1\td1\t1", "q1\td1\t0.5"],
     r"test.tsv, line 2: the score '0.5' is not an integer"),
    (CORPUS, QUERIES, ["q1\td1\t1", "q1 d1 1"],
     r"test.tsv, line 2: 1 tab-separated fields; expected 3"),
    (CORPUS, QUERIES, ["query-id\tcorpus-id\tscore"],
     r"test.tsv: no relevance judgements"),
])
def test_bad_sets_name_file_and_line(tmp_path, corpus, queries, qrels,
                                     message):
    with pytest.raises(ValueError, match=message):
        read_beir(write_set(tmp_path, corpus, queries, qrels))


def test_missing_files_and_splits(tmp_path):
    write_set(tmp_path, CORPUS, QUERIES, QRELS, split="dev")
    with pytest.raises(FileNotFoundError, match=r"qrels/test.tsv not found"
                       r".*The qrels splits here are: dev"):
        read_beir(tmp_path)
    os.remove(tmp_path / "queries.jsonl")
    with pytest.raises(FileNotFoundError, match=r"queries.jsonl not found"):
        read_beir(tmp_path, "dev")
