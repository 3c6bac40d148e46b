import numpy as np

from tests import synthetic_tasks as tasks
from tests.harness import run_model_test, run_task_test
from tfzoo.models import BertBackbone, BertQuestionAnswerer
from tfzoo.preprocessing import BertQuestionAnswererPreprocessor
from tfzoo.tokenizers import WordPieceTokenizer


def test_shared_checks():
    x, _ = tasks.span_after_marker(4)
    output = run_model_test(
        lambda: BertQuestionAnswerer(BertBackbone(**tasks.TINY_BERT)), x
    )
    assert output["start_logits"].shape == (4, 16)
    assert output["end_logits"].shape == (4, 16)
    padded = x["padding_mask"] == 0
    assert np.all(output["start_logits"][padded] < -1e8)


def test_learns_to_find_the_span_after_a_marker():
    x, y = tasks.span_after_marker(2048)
    model = BertQuestionAnswerer(BertBackbone(**tasks.TINY_BERT))
    model.compile(learning_rate=2e-3)
    model.fit(x, y, batch_size=64, epochs=15, verbose=0)
    test_x, test_y = tasks.span_after_marker(512, seed=1)
    result = model.evaluate(test_x, test_y, verbose=0, return_dict=True)
    assert result["span_accuracy"] > 0.9  # chance is below 1/100
    # The metric agrees with the predictions.
    predicted = model.predict(test_x, verbose=0)
    exact = (predicted["start_logits"].argmax(-1) == test_y["start_positions"]
             ) & (predicted["end_logits"].argmax(-1) == test_y["end_positions"])
    assert abs(exact.mean() - result["span_accuracy"]) < 1e-6


def test_labels_as_a_pair():
    x, y = tasks.span_after_marker(128)
    model = BertQuestionAnswerer(BertBackbone(**tasks.TINY_BERT))
    model.compile()
    from_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    from_pair = model.evaluate(
        x, (y["start_positions"], y["end_positions"]), verbose=0,
        return_dict=True,
    )
    assert from_dict == from_pair


def test_task_checks_on_raw_questions():
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who",
                  "won", "?", "ada", "the", "race", ".", "where", "oslo",
                  "in"]
    x = {"question": ["Who won?", "Where?", "Who won?", "Where?"],
         "context": ["Ada won the race.", "The race in Oslo.",
                     "The race: Ada won.", "Oslo won the race."]}
    y = {"answer_start": [0, 12, 10, 0],
         "answer_text": ["Ada", "Oslo", "Ada", "Oslo"]}
    model = BertQuestionAnswerer(
        BertBackbone(**dict(tasks.TINY_BERT,
                            vocabulary_size=len(vocabulary))),
        preprocessor=BertQuestionAnswererPreprocessor(
            WordPieceTokenizer(vocabulary), sequence_length=10,
            doc_stride=2),
    )
    run_task_test(model, x, y)
