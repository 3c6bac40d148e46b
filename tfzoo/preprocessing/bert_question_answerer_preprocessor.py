"""Questions and contexts to BertQuestionAnswerer inputs, in windows."""

import keras
import tensorflow as tf

from tfzoo.preprocessing.preprocessor import Preprocessor
from tfzoo.tokenizers.word_piece_tokenizer import WordPieceTokenizer


@keras.saving.register_keras_serializable(package="tfzoo")
class BertQuestionAnswererPreprocessor(Preprocessor):
    """Packs `[CLS] question [SEP] context-window [SEP]`, window by window.

    A context too long for one sequence is cut into windows whose starts
    are `doc_stride` tokens apart, so every token appears in some window.
    Questions keep at most `max_question_length` tokens (by default 64, or
    half the sequence if that is less).
    Call it as `preprocessor(x, y=None)`: `x` is a dict of `question` and
    `context` string batches; `y` is a dict of `answer_start` (character
    offset in the context, as in SQuAD) and `answer_text`. It returns the
    windows (more rows than examples when contexts are long), with labels
    `start_positions` and `end_positions` pointing at the answer's tokens,
    or at `[CLS]` (0) in windows that do not hold the whole answer. An
    answer that is not at its offset in the context is an error naming it.

    `windows(x)` also returns, per window, `example_index` and each token's
    character span in its context (`token_starts`, `token_ends`; -1
    outside the context), to map a predicted span back to text:
    `context[token_starts[i]:token_ends[j]]`.

    Example:

    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...               "who", "won", "?", "ada", "the", "race", "."]
    >>> preprocessor = BertQuestionAnswererPreprocessor(
    ...     WordPieceTokenizer(vocabulary), sequence_length=10)
    >>> x, y = preprocessor(
    ...     {"question": ["Who won?"], "context": ["Ada won the race."]},
    ...     {"answer_start": [0], "answer_text": ["Ada"]})
    >>> x["token_ids"].numpy().tolist()  # two windows: 4 + 1 context tokens
    [[2, 5, 6, 7, 3, 8, 6, 9, 10, 3], [2, 5, 6, 7, 3, 11, 3, 0, 0, 0]]
    >>> y["start_positions"].numpy().tolist(), y["end_positions"].numpy().tolist()
    ([5, 0], [5, 0])
    """

    word_piece_only = "it maps answers to character offsets"

    def __init__(
        self,
        tokenizer,
        sequence_length=384,
        doc_stride=128,
        max_question_length=None,
        **kwargs,
    ):
        super().__init__(tokenizer, sequence_length, **kwargs)
        if max_question_length is None:
            max_question_length = min(64, sequence_length // 2)
        if max_question_length > sequence_length - 4:
            raise ValueError(
                f"max_question_length ({max_question_length}) must leave "
                f"room for context: at most sequence_length - 4 "
                f"({sequence_length - 4})."
            )
        if doc_stride < 1:
            raise ValueError(f"doc_stride must be >= 1, got {doc_stride}.")
        self.doc_stride = doc_stride
        self.max_question_length = max_question_length
        self.changes_batch_size = True

    def call(self, x, y=None, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(
                "BertQuestionAnswererPreprocessor makes several windows per "
                "example, so it takes no sample_weight."
            )
        windows, context_spans = self._windows(x)
        features = {
            key: windows[key]
            for key in ("token_ids", "segment_ids", "padding_mask")
        }
        if y is None:
            return features
        return features, self._span_labels(x, y, windows, context_spans)

    def windows(self, x):
        """All windows of `x`, with their example index and token spans."""
        return self._windows(x)[0]

    def _windows(self, x):
        question = tf.convert_to_tensor(x["question"])
        context = tf.convert_to_tensor(x["context"])
        question_ids = self.tokenizer.tokenize(question)
        question_ids = question_ids[:, : self.max_question_length]
        context_ids, starts, ends = self.tokenizer.tokenize_with_offsets(
            context
        )
        room = self.sequence_length - 3 - question_ids.row_lengths()
        context_length = context_ids.row_lengths()
        step = tf.minimum(room, self.doc_stride)
        overflow = tf.maximum(context_length - room, 0)
        num_windows = 1 + (overflow + step - 1) // step
        example = tf.repeat(tf.range(tf.size(num_windows, tf.int64)),
                            num_windows)
        window_start = tf.ragged.range(num_windows).flat_values * tf.gather(
            step, example
        )
        window_end = tf.minimum(
            window_start + tf.gather(room, example),
            tf.gather(context_length, example),
        )
        positions = tf.ragged.range(window_start, window_end)
        flat_positions = positions + tf.gather(
            context_ids.row_splits[:-1], example
        )[:, None]

        def take(values):
            return tf.gather(values.flat_values, flat_positions)

        window_questions = tf.gather(question_ids, example)
        packed = self.packer((window_questions, take(context_ids)))
        offset = 2 + window_questions.row_lengths()

        def place(spans):
            # Token spans at their sequence positions, -1 elsewhere.
            front = tf.RaggedTensor.from_row_lengths(
                tf.fill([tf.reduce_sum(offset)], tf.constant(-1, tf.int64)),
                offset,
            )
            framed = tf.concat([front, tf.cast(spans, tf.int64)], axis=1)
            return framed.to_tensor(
                default_value=-1, shape=[None, self.sequence_length]
            )

        window_context = tf.gather(context, example)
        packed.update(
            {
                "example_index": tf.cast(example, "int32"),
                "window_start": tf.cast(window_start, "int32"),
                "window_end": tf.cast(window_end, "int32"),
                "context_offset": tf.cast(offset, "int32"),
                "token_starts": characters_before(
                    window_context, place(take(starts))
                ),
                "token_ends": characters_before(
                    window_context, place(take(ends))
                ),
            }
        )
        return packed, (starts, ends)

    def _span_labels(self, x, y, windows, context_spans):
        context = tf.convert_to_tensor(x["context"])
        answer_text = tf.convert_to_tensor(y["answer_text"])
        answer_start = tf.cast(y["answer_start"], "int32")
        byte_start = tf.cast(
            tf.strings.length(
                tf.strings.substr(
                    context, tf.zeros_like(answer_start), answer_start,
                    unit="UTF8_CHAR",
                )
            ),
            "int64",
        )
        byte_end = byte_start + tf.cast(
            tf.strings.length(answer_text), "int64"
        )
        found = tf.strings.substr(
            context, byte_start, byte_end - byte_start
        )
        check = tf.debugging.Assert(
            tf.reduce_all(tf.equal(found, answer_text)),
            [
                "Answer(s) not at their answer_start in the context:",
                tf.boolean_mask(answer_text, tf.not_equal(found, answer_text)),
            ],
            summarize=3,
        )
        # The answer's first and last context tokens, over the whole context.
        starts, ends = context_spans
        first = tf.reduce_sum(
            tf.cast(ends <= byte_start[:, None], "int32"), axis=1
        )
        last = tf.reduce_sum(
            tf.cast(starts < byte_end[:, None], "int32"), axis=1
        ) - 1
        example = windows["example_index"]
        first, last = tf.gather(first, example), tf.gather(last, example)
        inside = (first >= windows["window_start"]) & (
            last < windows["window_end"]
        )
        shift = windows["context_offset"] - windows["window_start"]
        with tf.control_dependencies([check]):
            return {
                "start_positions": tf.where(inside, first + shift, 0),
                "end_positions": tf.where(inside, last + shift, 0),
            }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "doc_stride": self.doc_stride,
                "max_question_length": self.max_question_length,
            }
        )
        return config


def characters_before(texts, byte_offsets):
    """Byte offsets `[rows, n]` into `texts[rows]` as character offsets."""
    prefix = tf.strings.substr(
        tf.broadcast_to(texts[:, None], tf.shape(byte_offsets)),
        tf.zeros_like(byte_offsets),
        tf.maximum(byte_offsets, 0),
    )
    characters = tf.cast(
        tf.strings.length(prefix, unit="UTF8_CHAR"), "int32"
    )
    return tf.where(byte_offsets >= 0, characters, -1)
