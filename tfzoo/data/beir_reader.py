"""Reads a retrieval set in the BEIR layout: a corpus, queries and
relevance judgements (qrels).

    DIRECTORY/corpus.jsonl      {"_id": ..., "title": ..., "text": ...}
    DIRECTORY/queries.jsonl     {"_id": ..., "text": ...}
    DIRECTORY/qrels/SPLIT.tsv   query-id <TAB> corpus-id <TAB> score
"""

import dataclasses
import os

from tfzoo.data.classification_reader import _jsonl_records
from tfzoo.data.read_report import ReadReport
from tfzoo.data.utf8_lines import read_utf8_lines


@dataclasses.dataclass
class RetrievalSet:
    """One split of a BEIR-layout retrieval set.

    `corpus_ids`, `corpus_titles`, `corpus_texts`: the documents, in file
    order. `queries`: query id -> text, only the queries judged in this
    split. `relevant`: query id -> {corpus id: grade} (grades as in the
    qrels file; `tfzoo.metrics.retrieval_metrics` counts grades > 0).
    """

    corpus_ids: list
    corpus_titles: list
    corpus_texts: list
    queries: dict
    relevant: dict

    def documents(self):
        """The texts to index: "title. text" (the text alone when there is
        no title), as BEIR's dense retrievers join them."""
        return [f"{title}. {text}" if title.strip() else text
                for title, text in zip(self.corpus_titles, self.corpus_texts)]


def read_beir(directory, split="test"):
    """Reads `(retrieval_set, reports)` from a BEIR-layout `directory`.

    `reports` are the `ReadReport`s of the corpus, queries and qrels
    files. Documents with neither title nor text and queries with an empty
    text are skipped and reported; so are judgements of a query the
    queries file skipped. Bad data raises ValueError naming the file and
    line: malformed JSON, a missing `_id` or `text`, a repeated id, a
    grade that is not an integer, a judgement naming a query or document
    the files do not hold. A missing file raises FileNotFoundError.

    >>> from tfzoo.data.samples import sample_path
    >>> data, reports = read_beir(sample_path("faq_retrieval"), "test")
    >>> len(data.corpus_ids), len(data.queries), len(data.relevant)
    (300, 60, 60)
    """
    directory = os.fspath(directory)
    qrels_path = os.path.join(directory, "qrels", f"{split}.tsv")
    paths = [os.path.join(directory, name)
             for name in ("corpus.jsonl", "queries.jsonl")] + [qrels_path]
    for path in paths:
        if not os.path.isfile(path):
            splits = _splits(directory)
            hint = (f" The qrels splits here are: {', '.join(splits)}."
                    if splits and path == qrels_path else "")
            raise FileNotFoundError(
                f"{path} not found: a BEIR-layout retrieval set has "
                f"corpus.jsonl, queries.jsonl and qrels/<split>.tsv.{hint}"
            )
    corpus_report = ReadReport(paths[0])
    corpus = _read_documents(paths[0], corpus_report, need_text=False)
    if not corpus:
        raise ValueError(
            f"{paths[0]}: the corpus is empty. Fix: add one JSON object per "
            f"document, with '_id' and 'text' (and optionally 'title')."
        )
    query_report = ReadReport(paths[1])
    queries = _read_documents(paths[1], query_report, need_text=True)
    qrels_report = ReadReport(qrels_path)
    relevant = _read_qrels(qrels_path, corpus, queries, query_report,
                           qrels_report)
    if not relevant:
        raise ValueError(
            f"{qrels_path}: no relevance judgements. Fix: add lines "
            f"'query-id<TAB>corpus-id<TAB>score'."
        )
    data = RetrievalSet(
        corpus_ids=list(corpus),
        corpus_titles=[title for title, _ in corpus.values()],
        corpus_texts=[text for _, text in corpus.values()],
        queries={query: queries[query][1] for query in relevant},
        relevant=relevant,
    )
    return data, [corpus_report, query_report, qrels_report]


def _splits(directory):
    qrels = os.path.join(directory, "qrels")
    if not os.path.isdir(qrels):
        return []
    return sorted(name[:-4] for name in os.listdir(qrels)
                  if name.endswith(".tsv"))


def _read_documents(path, report, need_text):
    """`{id: (title, text)}` of a corpus or queries file, in file order;
    skipped records are reported by line, and their ids remembered in
    `report.skipped_ids`."""
    documents, lines = {}, {}
    report.skipped_ids = set()
    for line_number, record in _jsonl_records(path):
        if "_id" not in record:
            raise ValueError(
                f"{path}, line {line_number}: no '_id' field; the record "
                f"has {sorted(record)}. Fix: give every record a unique "
                f"'_id'."
            )
        record_id = record["_id"]
        if not isinstance(record_id, (str, int)) or isinstance(
                record_id, bool) or str(record_id) == "":
            raise ValueError(
                f"{path}, line {line_number}: '_id' must be a non-empty "
                f"string, got {record_id!r}."
            )
        record_id = str(record_id)
        if record_id in lines or record_id in report.skipped_ids:
            first = lines.get(record_id, "an earlier line")
            raise ValueError(
                f"{path}, line {line_number}: duplicate _id {record_id!r} "
                f"(first at line {first}). Fix: give every record its own "
                f"id; search results and relevance judgements name records "
                f"by id."
            )
        if "text" not in record:
            raise ValueError(
                f"{path}, line {line_number}: no 'text' field; the record "
                f"has {sorted(record)}. Fix: add the text."
            )
        title = record.get("title", "")
        for name, value in (("text", record["text"]), ("title", title)):
            if not isinstance(value, str):
                raise ValueError(
                    f"{path}, line {line_number}: {name!r} must be a string, "
                    f"got {value!r}."
                )
        if not record["text"].strip() and (need_text or not title.strip()):
            report.skip(line_number, f"empty text (id {record_id!r})")
            report.skipped_ids.add(record_id)
            continue
        documents[record_id] = (title, record["text"])
        lines[record_id] = line_number
        report.lines.append(line_number)
    report.kept = len(documents)
    return documents


def _read_qrels(path, corpus, queries, query_report, report):
    relevant = {}
    seen_data = False
    for line_number, line in read_utf8_lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if not seen_data and len(fields) == 3 and not _is_int(fields[2]):
            seen_data = True
            continue  # the header: query-id corpus-id score
        seen_data = True
        if len(fields) != 3:
            raise ValueError(
                f"{path}, line {line_number}: {len(fields)} tab-separated "
                f"fields; expected 3 (query-id, corpus-id, score)."
            )
        query, document, grade = (field.strip() for field in fields)
        if not _is_int(grade):
            raise ValueError(
                f"{path}, line {line_number}: the score {grade!r} is not an "
                f"integer relevance grade."
            )
        if query in query_report.skipped_ids:
            report.skip(line_number, f"query {query!r} was skipped")
            continue
        if query not in queries:
            raise ValueError(
                f"{path}, line {line_number}: query {query!r} is not in "
                f"queries.jsonl. Fix: add the query or drop the judgement."
            )
        if document not in corpus:
            raise ValueError(
                f"{path}, line {line_number}: document {document!r} is not "
                f"in corpus.jsonl (or was skipped as empty). Fix: add the "
                f"document or drop the judgement."
            )
        judged = relevant.setdefault(query, {})
        if document in judged:
            raise ValueError(
                f"{path}, line {line_number}: query {query!r} and document "
                f"{document!r} are judged twice."
            )
        judged[document] = int(grade)
        report.lines.append(line_number)
    report.kept = sum(len(docs) for docs in relevant.values())
    return relevant


def _is_int(text):
    try:
        int(text)
    except ValueError:
        return False
    return True
