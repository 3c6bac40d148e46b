"""Reads documents and their summaries from JSON Lines, CSV or TSV files."""

from tfzoo.data.classification_reader import records_of_file
from tfzoo.data.read_report import ReadReport


def read_summarization_file(path, document_column="document",
                            summary_column="summary"):
    """Reads `({"documents", "summaries"}, report)` from a `.jsonl`,
    `.csv` or `.tsv` file whose records hold a document and its summary.

    Lines holding only whitespace are ignored. Records whose document or
    summary is empty (or only whitespace) are skipped and listed in
    `report`. A missing column, a value that is not a string or an empty
    file raises ValueError naming the file and line, and the fix.

    >>> from tfzoo.data.samples import sample_path
    >>> data, report = read_summarization_file(
    ...     sample_path("summarization_test.jsonl"))
    >>> len(data["documents"]), report.num_skipped
    (150, 0)
    """
    columns = (document_column, summary_column)
    data = {"documents": [], "summaries": []}
    report = ReadReport(str(path))
    num_records = 0
    for line_number, record in records_of_file(path):
        num_records += 1
        for column in columns:
            if column not in record:
                raise ValueError(
                    f"{path}, line {line_number}: no {column!r} field; the "
                    f"record has {sorted(record)}. Fix: give every record "
                    f"a {document_column!r} and a {summary_column!r} (or "
                    f"pass --document_column / --summary_column with the "
                    f"file's names)."
                )
            if not isinstance(record[column], str):
                raise ValueError(
                    f"{path}, line {line_number}: {column!r} must be a "
                    f"string, got {record[column]!r}. Fix: store the text "
                    f"as a JSON string."
                )
        document, summary = (record[column] for column in columns)
        empty = [column for column, text in zip(columns, (document, summary))
                 if not text.strip()]
        if empty:
            report.skip(line_number, f"empty {empty[0]!r}")
            continue
        data["documents"].append(document)
        data["summaries"].append(summary)
        report.lines.append(line_number)
    if num_records == 0:
        raise ValueError(
            f"{path} holds no records. Fix: check the path, or add one "
            f"document and its summary per line (after the header row for "
            f"CSV/TSV)."
        )
    report.kept = len(data["documents"])
    if report.kept == 0:
        raise ValueError(
            f"{path}: all {num_records} records were skipped, the first at "
            f"line {report.skipped[0][0]} ({report.skipped[0][1]})."
        )
    return data, report
