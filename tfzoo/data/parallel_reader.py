"""Reads parallel text (translation pairs) from JSON Lines, CSV or TSV
files."""

import dataclasses

from tfzoo.data.classification_reader import records_of_file
from tfzoo.data.read_report import ReadReport


@dataclasses.dataclass
class ParallelText:
    """Source and target sentences, aligned, and the columns they came
    from."""

    sources: list
    targets: list
    source_column: str
    target_column: str


def read_parallel_file(path, source_language="en", target_language=None,
                       source_column="source", target_column="target"):
    """Reads `(ParallelText, report)` from a `.jsonl`, `.csv` or `.tsv` file.

    Each record holds one sentence and its translation, either in
    `source` and `target` columns (fields of a JSON object, or the header
    of a CSV/TSV file), or keyed by language code (`{"en": ..., "de":
    ...}`, a header `en<TAB>de`): then `source_language` is the source
    and `target_language` the target; without `target_language`, the
    record's one other key is. The first record (or the header) decides;
    then every record needs those columns.

    Lines holding only whitespace are ignored. Records with an empty or
    whitespace-only sentence on either side are skipped and listed in
    `report`. Anything else that is wrong (no such columns, a sentence
    that is not a string, an empty file) raises ValueError naming the
    file and line, and the fix.

    >>> from tfzoo.data.samples import sample_path
    >>> pairs, report = read_parallel_file(
    ...     sample_path("translation_test.jsonl"))
    >>> pairs.source_column, pairs.target_column, len(pairs.sources)
    ('en', 'art', 200)
    """
    records = records_of_file(path)
    columns = None
    result = None
    report = ReadReport(str(path))
    num_records = 0
    for line_number, record in records:
        num_records += 1
        if columns is None:
            columns = _columns(record, path, line_number, source_language,
                               target_language, source_column,
                               target_column)
            result = ParallelText([], [], *columns)
            first_line = line_number
        for column in columns:
            if column not in record:
                raise ValueError(
                    f"{path}, line {line_number}: no {column!r} field (line "
                    f"{first_line} has one, so every record needs it); the "
                    f"record has {sorted(record)}. Fix: give every record "
                    f"both sides of the pair."
                )
            if not isinstance(record[column], str):
                raise ValueError(
                    f"{path}, line {line_number}: {column!r} must be a "
                    f"string, got {record[column]!r}. Fix: store the "
                    f"sentence as a JSON string."
                )
        source, target = (record[column] for column in columns)
        empty = [column for column, text in zip(columns, (source, target))
                 if not text.strip()]
        if empty:
            report.skip(line_number, f"empty {empty[0]!r}")
            continue
        result.sources.append(source)
        result.targets.append(target)
        report.lines.append(line_number)
    if num_records == 0:
        raise ValueError(
            f"{path} holds no records. Fix: check the path, or add one "
            f"sentence pair per line (after the header row for CSV/TSV)."
        )
    report.kept = len(result.sources)
    if report.kept == 0:
        raise ValueError(
            f"{path}: all {num_records} records were skipped, the first at "
            f"line {report.skipped[0][0]} ({report.skipped[0][1]})."
        )
    return result, report


def _columns(record, path, line_number, source_language, target_language,
             source_column, target_column):
    """The `(source, target)` column names the first record decides."""
    if source_column in record and target_column in record:
        return source_column, target_column
    keys = sorted(record)
    if source_language in record:
        if target_language is None:
            others = [key for key in keys if key != source_language]
            if len(others) == 1:
                return source_language, others[0]
            if others:
                raise ValueError(
                    f"{path}, line {line_number}: which of {others} is the "
                    f"target language? Fix: pass --target_language (one of "
                    f"{', '.join(others)})."
                )
        elif target_language in record:
            return source_language, target_language
    wanted = (f"{source_language!r} and {target_language!r}"
              if target_language else f"{source_language!r} and one other")
    raise ValueError(
        f"{path}, line {line_number}: the record has {keys}, neither "
        f"{source_column!r} and {target_column!r} columns nor the language "
        f"keys {wanted}. Fix: name the columns {source_column} and "
        f"{target_column} (or by language code), or pass the "
        f"--source_language and --target_language the file uses."
    )
