"""Reads extractive question-answering data in SQuAD v1.1/v2.0 JSON."""

import json

from tfzoo.data.read_report import ReadReport


def read_squad(path):
    """Reads `(examples, report)` from a SQuAD-format JSON file.

    Each example is a dict with `id`, `title`, `question`, `context`,
    `answers` (a list of `{"text", "answer_start"}`, empty for unanswerable
    SQuAD v2.0 questions) and `is_impossible`. A missing `title` reads as
    "" and a missing `is_impossible` as False (SQuAD v1.1).

    An answer whose `answer_start` does not point at its text is moved to
    the text's position when the text occurs exactly once in the context;
    otherwise the question is skipped and recorded in `report` under its
    id. Questions without answers that are not marked `is_impossible` are
    skipped too.

    >>> from tfzoo.data.samples import sample_path
    >>> examples, report = read_squad(sample_path("qa_train.json"))
    >>> len(examples), examples[0]["answers"]
    (180, [{'text': 'the River Tolla', 'answer_start': 109}])
    """
    try:
        with open(path, "rb") as file:
            dataset = json.loads(file.read().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: not valid UTF-8 at byte {error.start}. Fix: re-save the "
            f"file with UTF-8 encoding."
        ) from None
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path}: invalid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}). Fix: correct the JSON, e.g. check it with "
            f"`python -m json.tool`."
        ) from None

    examples = []
    report = ReadReport(str(path))
    seen_ids = set()
    articles = _require(dataset, "data", path, "the top level")
    for article_index, article in enumerate(articles):
        where = f"article {article_index}"
        title = article.get("title", "") if isinstance(article, dict) else ""
        paragraphs = _require(article, "paragraphs", path, where)
        for paragraph_index, paragraph in enumerate(paragraphs):
            where = f"article {article_index}, paragraph {paragraph_index}"
            context = _require(paragraph, "context", path, where)
            questions = _require(paragraph, "qas", path, where)
            for question_index, qa in enumerate(questions):
                where = (
                    f"article {article_index}, paragraph {paragraph_index}, "
                    f"question {question_index}"
                )
                example = _read_question(
                    qa, title, context, path, where, report
                )
                if example is None:
                    continue
                if example["id"] in seen_ids:
                    raise ValueError(
                        f"{path}, {where}: question id {example['id']!r} is "
                        f"used twice. Fix: give every question a unique id."
                    )
                seen_ids.add(example["id"])
                examples.append(example)

    if not examples and not report.skipped:
        raise ValueError(
            f"{path} holds no questions. Fix: check the path and the file's "
            f"'data' list."
        )
    report.kept = len(examples)
    return examples, report


def _read_question(qa, title, context, path, where, report):
    """One example dict, or None (recorded in `report`) if it is skipped."""
    question_id = str(_require(qa, "id", path, where))
    where = f"{where} (id {question_id!r})"
    question = _require(qa, "question", path, where)
    is_impossible = bool(qa.get("is_impossible", False))
    answers = []
    for answer_index, answer in enumerate(_require(qa, "answers", path, where)):
        answer_where = f"{where}, answer {answer_index}"
        text = _require(answer, "text", path, answer_where)
        start = _require(answer, "answer_start", path, answer_where)
        if not isinstance(text, str) or not isinstance(start, int):
            raise ValueError(
                f"{path}, {answer_where}: 'text' must be a string and "
                f"'answer_start' an int, got {text!r} and {start!r}. Fix: "
                f"store the character offset of the answer as a number."
            )
        if not text:
            report.skip(question_id, f"answer {answer_index} has empty text")
            return None
        if context[start:start + len(text)] != text:
            starts = _find_all(context, text)
            if len(starts) != 1:
                found = f"found {len(starts)} times" if starts else "not found"
                report.skip(
                    question_id,
                    f"answer {answer_index} {text!r} is not at answer_start "
                    f"{start} and is {found} in the context",
                )
                return None
            start = starts[0]
        answers.append({"text": text, "answer_start": start})
    if not answers and not is_impossible:
        report.skip(question_id, "no answers and not marked is_impossible")
        return None
    return {
        "id": question_id,
        "title": title,
        "question": question,
        "context": context,
        "answers": answers,
        "is_impossible": is_impossible,
    }


def _require(mapping, key, path, where):
    if not isinstance(mapping, dict) or key not in mapping:
        raise ValueError(
            f"{path}, {where}: missing key {key!r}. Fix: follow the SQuAD "
            f"format (data -> paragraphs -> context/qas -> id/question/answers "
            f"-> text/answer_start)."
        )
    return mapping[key]


def _find_all(text, part):
    """Every start position of `part` in `text`, overlapping ones included."""
    starts = []
    start = text.find(part)
    while start != -1:
        starts.append(start)
        start = text.find(part, start + 1)
    return starts
