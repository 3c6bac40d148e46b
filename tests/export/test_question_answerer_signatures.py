import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import CITY_QUESTION, CORPUS
from tests.export.servables import serve, signature_defs
from tests.export.warmup_checks import check_warmup, warmup_calls
from tfzoo.export import check_servable, export_saved_model

# The model is trained to find the one city in the context.
CONTEXTS = [
    f"{CORPUS[2]} {CORPUS[3]} The dog ran to Oslo in June.",
    "A naïve café, 東京, and a cat in Paris.",
    f"The café in 東京! {CORPUS[3]} {CORPUS[2]} Ada ran to London.",
    "",
]
QUESTIONS = [CITY_QUESTION, "Where is the café?", CITY_QUESTION, "What?"]
CITIES = ["Oslo", "Paris", "London", ""]
LONG = (0, 2)
NO_CONTEXT = 3
FEATURES = ("token_ids", "segment_ids", "padding_mask")


@pytest.fixture(scope="module")
def windows(question_answerer):
    windows = question_answerer.preprocessor.windows(
        {"question": QUESTIONS, "context": CONTEXTS}
    )
    return {key: value.numpy() for key, value in windows.items()}


@pytest.fixture(scope="module")
def served(question_answerer_export, windows):
    """Served outputs of the raw-text and token-id signatures, then of
    every warmup record."""
    outputs = serve([
        (question_answerer_export, "serving_default",
         {"question": QUESTIONS, "context": CONTEXTS}),
        (question_answerer_export, "predict_token_ids",
         {key: windows[key] for key in FEATURES}),
    ] + warmup_calls(question_answerer_export))
    return outputs[0], outputs[1], outputs[2:]


def brute_force_answers(windows, start_logits, end_logits, max_length):
    """(score, character start, end, window) of the best span per example,
    trying every pair of context tokens of every window."""
    best = [(-np.inf, 0, 0, None)] * len(QUESTIONS)
    for window, example in enumerate(windows["example_index"]):
        starts = windows["token_starts"][window]
        ends = windows["token_ends"][window]
        context = np.flatnonzero(starts >= 0)
        for i in context:
            for j in context:
                if not i <= j < i + max_length:
                    continue
                score = start_logits[window, i] + end_logits[window, j]
                if score > best[example][0]:
                    best[example] = (score, starts[i], ends[j], window)
    return best


def test_served_answers_equal_in_process_predictions(
    question_answerer, served
):
    answers, _, _ = served
    expected = question_answerer.predict_answers(
        QUESTIONS, CONTEXTS, batch_size=3
    )
    assert sorted(answers) == sorted(expected) == [
        "answer_end", "answer_start", "answer_text", "score"
    ]
    assert answers["answer_text"] == expected["answer_text"].tolist()
    assert answers["answer_start"] == expected["answer_start"].tolist()
    assert answers["answer_end"] == expected["answer_end"].tolist()
    np.testing.assert_allclose(answers["score"], expected["score"],
                               atol=1e-5)


def test_answers_are_the_context_at_their_character_offsets(served):
    answers, _, _ = served
    for context, text, start, end in zip(
        CONTEXTS, answers["answer_text"], answers["answer_start"],
        answers["answer_end"],
    ):
        assert context[start:end] == text
    assert answers["answer_text"] == CITIES
    assert answers["score"][NO_CONTEXT] == float("-inf")


def test_best_span_over_all_windows_is_the_brute_force_best(
    question_answerer, windows, served
):
    answers, logits, _ = served
    start_logits = np.array(logits["start_logits"], "float32")
    end_logits = np.array(logits["end_logits"], "float32")
    in_process = question_answerer(
        {key: windows[key] for key in FEATURES}, training=False
    )
    np.testing.assert_allclose(start_logits, in_process["start_logits"],
                               atol=1e-5)
    best = brute_force_answers(windows, start_logits, end_logits, 30)
    for row, (score, start, end, _) in enumerate(best):
        assert answers["answer_start"][row] == start
        assert answers["answer_end"][row] == end
        np.testing.assert_allclose(answers["score"][row], score, atol=1e-5)
    # The long contexts span several windows; their answers are in the
    # last ones.
    example = windows["example_index"]
    for row in LONG:
        row_windows = np.flatnonzero(example == row)
        assert len(row_windows) > 3
        assert best[row][3] >= row_windows[-2]


def test_max_answer_length_bounds_the_span(question_answerer, windows):
    outputs = question_answerer(
        {key: windows[key] for key in FEATURES}, training=False
    )
    for max_length in (1, 3):
        answers = question_answerer.predict_answers(
            QUESTIONS, CONTEXTS, max_answer_length=max_length
        )
        best = brute_force_answers(
            windows, outputs["start_logits"].numpy(),
            outputs["end_logits"].numpy(), max_length,
        )
        assert answers["answer_start"].tolist() == [b[1] for b in best]
        assert answers["answer_end"].tolist() == [b[2] for b in best]
        tokens = question_answerer.preprocessor.tokenizer.tokenize(
            tf.constant(answers["answer_text"].tolist())
        )
        assert max(tokens.row_lengths().numpy()) <= max_length


def test_signatures_names_types_and_servable_ops(question_answerer_export):
    check_servable(question_answerer_export)
    signatures = signature_defs(question_answerer_export)
    assert sorted(signatures) == ["predict_token_ids", "serving_default"]
    text = signatures["serving_default"]
    assert sorted(text.inputs) == ["context", "question"]
    dtypes = {name: tf.dtypes.as_dtype(info.dtype).name
              for name, info in text.outputs.items()}
    assert dtypes == {"answer_text": "string", "answer_start": "int32",
                      "answer_end": "int32", "score": "float32"}
    ids = signatures["predict_token_ids"]
    assert sorted(ids.inputs) == ["padding_mask", "segment_ids", "token_ids"]
    for name in ("start_logits", "end_logits"):
        assert ids.outputs[name].dtype == tf.float32.as_datatype_enum
        shape = [d.size for d in ids.outputs[name].tensor_shape.dim]
        assert shape == [-1, 24]


def test_clear_errors(question_answerer, token_classifier, tmp_path):
    with pytest.raises(ValueError, match="an integer >= 1, got 0"):
        export_saved_model(question_answerer, str(tmp_path),
                           max_answer_length=0)
    with pytest.raises(ValueError, match="max_answer_length is for"):
        export_saved_model(token_classifier, str(tmp_path),
                           max_answer_length=5)
    with pytest.raises(ValueError, match="as many questions as contexts"):
        question_answerer.predict_answers(["Who?"], ["Ada.", "Bob."])
    with pytest.raises(TypeError, match="list of questions"):
        question_answerer.predict_answers("Who?", ["Ada."])
    assert [name for name in tmp_path.iterdir()] == []


def test_warmup_covers_signatures_and_length_buckets(
    question_answerer, question_answerer_export, served
):
    _, _, replayed = served
    check_warmup(question_answerer, question_answerer_export, replayed)
