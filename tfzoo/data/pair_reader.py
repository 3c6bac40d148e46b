"""Reads text pairs (sentence similarity, paraphrase, retrieval training
data) from JSON Lines, CSV or TSV files."""

import math

from tfzoo.data.classification_reader import records_of_file
from tfzoo.data.read_report import ReadReport


def read_pair_file(path, text_column="text", text_pair_column="text_pair",
                   score_column="score", negative_column="negative"):
    """Reads `(pairs, report)` from a `.jsonl`, `.csv` or `.tsv` file.

    Each record holds two texts (`text`, `text_pair`) and optionally a
    similarity `score` (a number, e.g. STS's 0-5) or a hard `negative`
    (a third text that does not match `text`). `pairs` is a dict of
    equal-length lists: `text` and `text_pair`, plus `score` (floats) or
    `negative` when the file has that column (the first record or the
    CSV/TSV header decides; then every record needs it).

    Lines holding only whitespace are ignored. Records with an empty or
    whitespace-only text are skipped and listed in `report`. Anything else
    that is wrong (a missing column, a score that is not a number, a text
    that is not a string) raises ValueError naming the file and line.

    >>> from tfzoo.data.samples import sample_path
    >>> pairs, report = read_pair_file(sample_path("paraphrase_test.jsonl"))
    >>> sorted(pairs), len(pairs["text"]), report.num_skipped
    (['score', 'text', 'text_pair'], 120, 0)
    """
    required = {"text": text_column, "text_pair": text_pair_column}
    optional = {"score": score_column, "negative": negative_column}
    records = records_of_file(path, list(required.values()))
    columns = None
    pairs = None
    report = ReadReport(str(path))
    num_records = 0
    for line_number, record in records:
        num_records += 1
        if columns is None:
            columns = dict(required)
            columns.update({key: column for key, column in optional.items()
                            if column is not None and column in record})
            if "score" in columns and "negative" in columns:
                raise ValueError(
                    f"{path}, line {line_number}: the record has both a "
                    f"score ({score_column!r}) and a negative "
                    f"({negative_column!r}). Fix: give pairs either a "
                    f"similarity score or a hard negative, not both."
                )
            pairs = {key: [] for key in columns}
            first_line = line_number
        for key, column in columns.items():
            if column not in record:
                extra = ("" if key in required else
                         f" (line {first_line} has one, so every record "
                         f"needs it)")
                raise ValueError(
                    f"{path}, line {line_number}: no {key} field "
                    f"{column!r}{extra}; the record has {sorted(record)}. "
                    f"Fix: add the field, or pass the right column name "
                    f"(text_column=, text_pair_column=, score_column=, "
                    f"negative_column=)."
                )
        values = {key: record[column] for key, column in columns.items()}
        for key in ("text", "text_pair", "negative"):
            if key in values and not isinstance(values[key], str):
                raise ValueError(
                    f"{path}, line {line_number}: {columns[key]!r} must be "
                    f"a string, got {values[key]!r}. Fix: store the text as "
                    f"a JSON string."
                )
        if "score" in values:
            values["score"] = _score(values["score"], score_column, path,
                                     line_number)
        empty = [key for key in ("text", "text_pair", "negative")
                 if key in values and not values[key].strip()]
        if empty:
            report.skip(line_number, f"empty {columns[empty[0]]!r}")
            continue
        for key, value in values.items():
            pairs[key].append(value)
        report.lines.append(line_number)
    if num_records == 0:
        raise ValueError(
            f"{path} holds no records. Fix: check the path, or add one pair "
            f"per line (after the header row for CSV/TSV)."
        )
    report.kept = len(pairs["text"])
    if report.kept == 0:
        raise ValueError(
            f"{path}: all {num_records} records were skipped, the first at "
            f"line {report.skipped[0][0]} ({report.skipped[0][1]})."
        )
    return pairs, report


def _score(value, column, path, line_number):
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if (isinstance(number, bool) or not isinstance(number, (int, float))
            or not math.isfinite(number)):
        raise ValueError(
            f"{path}, line {line_number}: {column!r} must be a finite "
            f"number, got {value!r}. Fix: give every pair a numeric "
            f"similarity score."
        )
    return float(number)
