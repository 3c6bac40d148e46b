"""Answer spans of `BertQuestionAnswerer`: the best span over all windows.

`answer_questions` is the one implementation behind both
`BertQuestionAnswerer.predict_answers` (in-process) and the exported
`serving_default` signature (`tfzoo.export.question_answerer_signatures`).
Outputs, all `[batch]`: `answer_text` (a substring of the context),
`answer_start`, `answer_end` (character offsets: `context[start:end] ==
answer_text` in Python) and `score` (start logit + end logit). A context
without tokens has no span: "" at 0, 0 with score -inf.
"""

import tensorflow as tf

from tfzoo.models.batched_outputs import concatenate_batches, to_numpy
from tfzoo.models.task_preprocessing import require_preprocessor
from tfzoo.preprocessing.bert_question_answerer_preprocessor import (
    BertQuestionAnswererPreprocessor,
)
from tfzoo.preprocessing.length_buckets import call_on_length_bucket

DEFAULT_MAX_ANSWER_LENGTH = 30
FEATURES = ("token_ids", "segment_ids", "padding_mask")
# Score of disallowed spans; also the empty maximum of unsorted_segment_max.
NO_SPAN = tf.float32.min


def answer_questions(
    model, question, context, max_answer_length=DEFAULT_MAX_ANSWER_LENGTH
):
    """The best answer span in each context (string `[batch]` tensors);
    see the module doc."""
    windows = model.preprocessor.windows(
        {"question": question, "context": context}
    )
    logits = call_on_length_bucket(
        model, {key: windows[key] for key in FEATURES},
        pad_sequence_axis=True,
    )
    return best_answers(
        context,
        windows,
        tf.cast(logits["start_logits"], "float32"),
        tf.cast(logits["end_logits"], "float32"),
        max_answer_length,
    )


def best_answers(context, windows, start_logits, end_logits,
                 max_answer_length=DEFAULT_MAX_ANSWER_LENGTH):
    """The highest-scoring span of each example, over all its windows.

    `windows` is `BertQuestionAnswererPreprocessor.windows(...)` of the
    examples with `context`; `start_logits` and `end_logits` are the
    model's `[windows, sequence_length]` outputs. A span starts and ends
    on context tokens of one window, ends at or after its start, and is
    at most `max_answer_length` tokens long; its score is start logit +
    end logit. Ties go to the earliest window, then the earliest start.
    """
    check_max_answer_length(max_answer_length)
    length = tf.shape(start_logits)[1]
    in_context = windows["token_starts"] >= 0
    # Span (start i, end i + k) for every start i and k < max_answer_length.
    ends = tf.range(length)[:, None] + tf.range(max_answer_length)[None, :]
    inside_sequence = ends < length
    ends = tf.minimum(ends, length - 1)
    allowed = (
        in_context[:, :, None]
        & tf.gather(in_context, ends, axis=1)
        & inside_sequence[None]
    )
    scores = tf.where(
        allowed,
        start_logits[:, :, None] + tf.gather(end_logits, ends, axis=1),
        NO_SPAN,
    )
    scores = tf.reshape(
        scores, [tf.shape(scores)[0], length * max_answer_length]
    )
    window_score = tf.reduce_max(scores, axis=1)
    best = tf.argmax(scores, axis=1, output_type=tf.int32)
    span_start = best // max_answer_length
    span_end = span_start + best % max_answer_length

    example = windows["example_index"]
    num_examples = tf.shape(context)[0]
    score = tf.math.unsorted_segment_max(window_score, example, num_examples)
    window_ids = tf.range(tf.shape(window_score)[0])
    is_best = tf.equal(window_score, tf.gather(score, example))
    window = tf.math.unsorted_segment_min(
        tf.where(is_best, window_ids, tf.shape(window_ids)[0]),
        example,
        num_examples,
    )
    start_token = tf.stack([window, tf.gather(span_start, window)], axis=1)
    end_token = tf.stack([window, tf.gather(span_end, window)], axis=1)
    found = score > NO_SPAN
    answer_start = tf.where(
        found, tf.gather_nd(windows["token_starts"], start_token), 0
    )
    answer_end = tf.where(
        found, tf.gather_nd(windows["token_ends"], end_token), 0
    )
    return {
        "answer_text": tf.strings.substr(
            context, answer_start, answer_end - answer_start,
            unit="UTF8_CHAR",
        ),
        "answer_start": answer_start,
        "answer_end": answer_end,
        "score": tf.where(found, score, float("-inf")),
    }


def check_max_answer_length(max_answer_length):
    if not isinstance(max_answer_length, int) or max_answer_length < 1:
        raise ValueError(
            f"max_answer_length must be an integer >= 1, got "
            f"{max_answer_length!r}."
        )


def predict_answers(model, questions, contexts,
                    max_answer_length=DEFAULT_MAX_ANSWER_LENGTH,
                    batch_size=32):
    """`answer_questions` in-process over lists, `batch_size` examples at
    a time; a dict of numpy arrays (strings as `str`)."""
    require_preprocessor(model, BertQuestionAnswererPreprocessor)
    for name, values in (("questions", questions), ("contexts", contexts)):
        if isinstance(values, (str, bytes)):
            raise TypeError(f"predict_answers takes a list of {name}.")
    questions, contexts = list(questions), list(contexts)
    if not questions or len(questions) != len(contexts):
        raise ValueError(
            f"predict_answers needs as many questions as contexts (at least "
            f"one); got {len(questions)} and {len(contexts)}."
        )
    batches = [
        to_numpy(answer_questions(
            model,
            tf.constant(questions[i:i + batch_size]),
            tf.constant(contexts[i:i + batch_size]),
            max_answer_length,
        ))
        for i in range(0, len(questions), batch_size)
    ]
    return concatenate_batches(batches, padding={})
