"""Serving signatures of BertQuestionAnswerer: questions to answer spans.

- `serving_default`: `question` and `context`, string `[batch]`. The
  model's preprocessor cuts each context into windows; every window is
  scored and the best span over all windows of an example is chosen
  (`best_answers`). Out, all `[batch]`: `answer_text` (string, a substring
  of the context), `answer_start`, `answer_end` (int32 character offsets
  in the context: `context[start:end] == answer_text` in Python) and
  `score` (float32, start logit + end logit). A context without tokens
  has no span: "" at 0, 0 with score -inf.
- `predict_token_ids`: `token_ids`, `segment_ids`, `padding_mask` int32
  `[batch, sequence_length]` (one row per window); out: `start_logits`
  and `end_logits` float32 `[batch, sequence_length]`.

`tfzoo.models.bert.answer_spans.answer_questions` computes
`serving_default`'s outputs; in-process,
`BertQuestionAnswerer.predict_answers` runs the same code.
"""

import tensorflow as tf

from tfzoo.export import warmup
from tfzoo.export.token_id_signature import token_id_signature
from tfzoo.models.bert.answer_spans import (
    DEFAULT_MAX_ANSWER_LENGTH,
    FEATURES,
    answer_questions,
    check_max_answer_length,
)
from tfzoo.models.task_preprocessing import require_preprocessor
from tfzoo.preprocessing.bert_question_answerer_preprocessor import (
    BertQuestionAnswererPreprocessor,
)

WARMUP_QUESTION_TOKENS = 3


def question_answerer_signatures(
    model, max_answer_length=DEFAULT_MAX_ANSWER_LENGTH
):
    """`{name: tf.function}` for a `BertQuestionAnswerer` (see the module
    doc)."""
    preprocessor = require_preprocessor(
        model, BertQuestionAnswererPreprocessor
    )
    check_max_answer_length(max_answer_length)
    text_spec = tf.TensorSpec([None], tf.string)

    @tf.function(input_signature=[text_spec, text_spec], autograph=False)
    def serve_text(question, context):
        return answer_questions(model, question, context, max_answer_length)

    predict_token_ids = token_id_signature(
        model, preprocessor.sequence_length,
        lambda logits: {
            name: tf.cast(logits[name], "float32")
            for name in ("start_logits", "end_logits")
        },
    )

    return {
        "serving_default": serve_text,
        "predict_token_ids": predict_token_ids,
    }


def question_answerer_warmup_logs(model):
    """One request per signature and context length bucket: `full` fills
    one window exactly, `over` needs several."""
    preprocessor = model.preprocessor
    tokenizer = preprocessor.tokenizer
    question = warmup.filler_text(tokenizer, WARMUP_QUESTION_TOKENS)
    question_tokens = min(WARMUP_QUESTION_TOKENS,
                          preprocessor.max_question_length)
    capacity = preprocessor.sequence_length - 3 - question_tokens
    logs = []
    for num_tokens in warmup.length_buckets(
        capacity, preprocessor.sequence_length
    ).values():
        texts = {
            "question": [question],
            "context": [warmup.filler_text(tokenizer, num_tokens)],
        }
        windows = preprocessor.windows(texts)
        logs += [
            warmup.predict_log("serving_default", texts),
            warmup.predict_log(
                "predict_token_ids",
                {name: windows[name].numpy() for name in FEATURES},
            ),
        ]
    return logs
