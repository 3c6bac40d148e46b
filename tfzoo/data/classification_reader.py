"""Reads text-classification data from JSON Lines, CSV or TSV files."""

import csv
import json
import os

from tfzoo.data.read_report import ReadReport
from tfzoo.data.utf8_lines import read_utf8_lines

SUPPORTED_EXTENSIONS = (".jsonl", ".csv", ".tsv")


def read_classification_file(
    path, text_column="text", text_pair_column=None, label_column="label"
):
    """Reads `(examples, report)` from a `.jsonl`, `.csv` or `.tsv` file.

    `examples` is a dict of equal-length lists, `{"text": [...],
    "label": [...]}`, plus `"text_pair"` when `text_pair_column` is given.
    Labels are kept as they appear: strings or ints in JSON Lines, always
    strings in CSV and TSV (use `label_vocabulary` and `encode_labels` to
    turn them into ids). CSV and TSV files need a header row; TSV fields
    are not quoted.

    Lines holding only whitespace are ignored. Records whose text (or text
    pair) is empty or whitespace-only are skipped and listed in `report`.
    Anything else that is wrong raises ValueError naming the file and line.

    >>> from tfzoo.data.samples import sample_path
    >>> path = sample_path("sentiment_pairs_train.jsonl")
    >>> examples, report = read_classification_file(
    ...     path, text_pair_column="text_pair")
    >>> sorted(examples), len(examples["text"]), report.num_skipped
    (['label', 'text', 'text_pair'], 300, 0)
    """
    columns = {"text": text_column, "label": label_column}
    if text_pair_column is not None:
        columns["text_pair"] = text_pair_column
    records = records_of_file(path, list(columns.values()))

    examples = {key: [] for key in columns}
    report = ReadReport(str(path))
    num_records = 0
    for line_number, record in records:
        num_records += 1
        for column in columns.values():
            if column not in record:
                raise ValueError(
                    f"{path}, line {line_number}: no column {column!r}; the "
                    f"record has {sorted(record)}. Fix: pass the right column "
                    f"name (text_column=, text_pair_column=, label_column=) or "
                    f"add the column."
                )
        values = {key: record[column] for key, column in columns.items()}
        for key in ("text", "text_pair"):
            if key in values:
                _check_text(values[key], columns[key], path, line_number)
        _check_label(values["label"], label_column, path, line_number)
        empty_keys = [
            key
            for key in ("text", "text_pair")
            if key in values and not values[key].strip()
        ]
        if empty_keys:
            report.skip(line_number, f"empty {columns[empty_keys[0]]!r}")
            continue
        for key, value in values.items():
            examples[key].append(value)
        report.lines.append(line_number)

    if num_records == 0:
        raise ValueError(
            f"{path} holds no records. Fix: check the path, or add one record "
            f"per line (after the header row for CSV/TSV)."
        )
    report.kept = len(examples["text"])
    if report.kept == 0:
        raise ValueError(
            f"{path}: all {num_records} records were skipped, the first at "
            f"line {report.skipped[0][0]} ({report.skipped[0][1]}). Fix: check "
            f"the text column name (text_column={text_column!r})."
        )
    return examples, report


def label_vocabulary(labels):
    """Sorted distinct labels: ints numerically, strings alphabetically.

    >>> label_vocabulary(["pos", "neg", "pos"])
    ['neg', 'pos']
    >>> label_vocabulary([10, 2, 2])
    [2, 10]
    """
    distinct = set(labels)
    kinds = {_label_kind(label) for label in distinct}
    if "other" in kinds or len(kinds) > 1:
        raise ValueError(
            f"Labels must be all strings or all ints, got types "
            f"{sorted({type(label).__name__ for label in distinct})}. Fix: "
            f"convert the labels to one type first."
        )
    return sorted(distinct)


def encode_labels(labels, label_names, path=None):
    """Maps each label to its index in `label_names`.

    `path`, when given, is named in the error for an unknown label.

    >>> encode_labels(["pos", "neg", "pos"], ["neg", "pos"])
    [1, 0, 1]
    """
    ids = {name: index for index, name in enumerate(label_names)}
    encoded = []
    for index, label in enumerate(labels):
        if label not in ids or isinstance(label, bool):
            where = f"{path}: " if path is not None else ""
            raise ValueError(
                f"{where}unknown label {label!r} at index {index}; the known "
                f"labels are {list(label_names)}. Fix: add it to label_names "
                f"or correct the data."
            )
        encoded.append(ids[label])
    return encoded


def records_of_file(path, required_columns=()):
    """`(line_number, dict)` records of a JSONL, CSV or TSV file (chosen by
    extension); a CSV/TSV header must name `required_columns`."""
    extension = os.path.splitext(str(path))[1].lower()
    if extension == ".jsonl":
        return _jsonl_records(path)
    if extension in (".csv", ".tsv"):
        return _delimited_records(path, extension, list(required_columns))
    raise ValueError(
        f"{path}: unsupported file extension {extension!r}. Fix: use "
        f"one of {', '.join(SUPPORTED_EXTENSIONS)} (the format is chosen "
        f"by extension)."
    )


def _jsonl_records(path):
    """Yields `(line_number, dict)` for each non-blank line of a JSONL file."""
    for line_number, line in read_utf8_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{path}, line {line_number}: malformed JSON ({error.msg} at "
                f"column {error.colno}). Fix: write one complete JSON object "
                f"per line."
            ) from None
        if not isinstance(record, dict):
            raise ValueError(
                f"{path}, line {line_number}: expected a JSON object, got "
                f"{type(record).__name__}. Fix: write one JSON object per line."
            )
        yield line_number, record


def _delimited_records(path, extension, required_columns):
    """Yields `(line_number, dict)` for each data row of a CSV or TSV file."""
    if extension == ".tsv":
        options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
    else:
        options = {"delimiter": ","}
    lines = (line + "\n" for _, line in read_utf8_lines(path))
    reader = csv.reader(lines, **options)
    header = None
    while True:
        first_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ValueError(
                f"{path}, line {reader.line_num}: {error}. Fix: check the "
                f"quoting of this row."
            ) from None
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if header is None:
            header = [name.strip() for name in row]
            for column in required_columns:
                if column not in header:
                    raise ValueError(
                        f"{path}, line {first_line}: the header has no column "
                        f"{column!r}; its columns are {header}. Fix: pass the "
                        f"right column name (text_column=, text_pair_column=, "
                        f"label_column=) or rename the header."
                    )
            continue
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {first_line}: {len(row)} fields but the "
                f"header has {len(header)} columns. Fix: quote fields that "
                f"contain the delimiter, and give every row the same number "
                f"of fields."
            )
        yield first_line, dict(zip(header, row))


def _check_text(value, column, path, line_number):
    if not isinstance(value, str):
        raise ValueError(
            f"{path}, line {line_number}: {column!r} must be a string, got "
            f"{value!r}. Fix: store the text as a JSON string."
        )


def _check_label(value, column, path, line_number):
    if not (isinstance(value, str) or _is_int(value)) or value == "":
        raise ValueError(
            f"{path}, line {line_number}: {column!r} must be a non-empty "
            f"string or an int, got {value!r}. Fix: give every record a label."
        )


def _label_kind(label):
    if _is_int(label):
        return "int"
    return "str" if isinstance(label, str) else "other"


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)
