import os

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import ENTITY_LABELS
from tests.export.servables import serve, signature_defs
from tests.export.warmup_checks import check_warmup, warmup_calls
from tfzoo.export import check_servable, export_saved_model
from tfzoo.models.bert.word_labels import merge_entities
from tfzoo.models import BertTokenClassifier
from tfzoo.preprocessing import BertClassifierPreprocessor

TEXTS = [
    "Ada Lovelace met Charles Babbage in London.",
    "café naïve 東京",
    "",
    "Grace Hopper visited Oslo, New York, London, Paris and the café "
    "in June and the park.",  # more tokens than the sequence holds
]
LONG = 3
WORD_OUTPUTS = ["words", "word_starts", "word_ends", "word_label_ids",
                "word_labels", "word_scores"]
ENTITY_OUTPUTS = ["entity_texts", "entity_labels", "entity_starts",
                  "entity_ends"]
COUNTS = ["num_words", "num_labeled_words", "num_entities"]


@pytest.fixture(scope="module")
def features(token_classifier):
    preprocessor = token_classifier.preprocessor
    words, _, _ = preprocessor.split_text(TEXTS)
    return {key: value.numpy() for key, value in preprocessor(words).items()}


@pytest.fixture(scope="module")
def served(token_classifier_export, features):
    """Served outputs of the raw-text and token-id signatures, then of
    every warmup record."""
    outputs = serve([
        (token_classifier_export, "serving_default", {"text": TEXTS}),
        (token_classifier_export, "predict_token_ids", features),
    ] + warmup_calls(token_classifier_export))
    return outputs[0], outputs[1], outputs[2:]


@pytest.fixture(scope="module")
def predicted(token_classifier):
    return token_classifier.predict_words(TEXTS, batch_size=3)


def test_served_words_equal_in_process_predictions(served, predicted):
    text_outputs, _, _ = served
    assert sorted(text_outputs) == sorted(
        WORD_OUTPUTS + ENTITY_OUTPUTS + COUNTS
    )
    assert sorted(predicted) == sorted(text_outputs)
    for name, value in text_outputs.items():
        if name == "word_scores":
            np.testing.assert_allclose(value, predicted[name], atol=1e-5)
        else:
            assert value == predicted[name].tolist(), name


def test_words_are_the_text_at_their_character_offsets(served):
    outputs, _, _ = served
    for row, text in enumerate(TEXTS):
        count = outputs["num_words"][row]
        words = outputs["words"][row]
        starts = outputs["word_starts"][row]
        ends = outputs["word_ends"][row]
        for word, start, end in zip(words[:count], starts, ends):
            assert text[start:end] == word
        # Words and punctuation cover every non-space character.
        assert "".join(words[:count]) == "".join(text.split())
        assert set(words[count:]) <= {""}
        assert set(starts[count:]) | set(ends[count:]) <= {-1}
    assert outputs["words"][1][:4] == ["café", "naïve", "東", "京"]
    assert outputs["num_words"][2] == 0


def test_words_past_the_sequence_are_listed_without_a_label(
    token_classifier, served
):
    outputs, _, _ = served
    tokenizer = token_classifier.preprocessor.tokenizer
    room = token_classifier.preprocessor.sequence_length - 2
    for row in range(len(TEXTS)):
        count = outputs["num_words"][row]
        words = outputs["words"][row][:count]
        # A word is labelled when its first token fits after [CLS].
        token_counts = tokenizer.tokenize(tf.constant(words or [""]))
        first_token = np.cumsum(token_counts.row_lengths()) - (
            token_counts.row_lengths()
        )
        expected = int(np.sum(first_token[:count] < room))
        labeled = outputs["num_labeled_words"][row]
        assert labeled == expected
        assert all(label in ENTITY_LABELS
                   for label in outputs["word_labels"][row][:labeled])
        assert min(outputs["word_scores"][row][:labeled], default=1) > 0
        assert set(outputs["word_labels"][row][labeled:]) <= {""}
        assert set(outputs["word_label_ids"][row][labeled:]) <= {-1}
        assert set(outputs["word_scores"][row][labeled:]) <= {0.0}
    long_row = outputs["num_labeled_words"][LONG]
    assert 0 < long_row < outputs["num_words"][LONG]


def test_word_labels_are_each_word_first_token_prediction(
    token_classifier, features, served
):
    text_outputs, id_outputs, _ = served
    expected_logits = token_classifier(features, training=False).numpy()
    logits = np.array(id_outputs["logits"])
    np.testing.assert_allclose(logits, expected_logits, atol=1e-5)
    np.testing.assert_allclose(
        id_outputs["probabilities"], tf.nn.softmax(logits).numpy(),
        atol=1e-6,
    )
    preprocessor = token_classifier.preprocessor
    word_ids = preprocessor.word_ids(preprocessor.split_text(TEXTS)[0])
    for row, ids in enumerate(word_ids.numpy()):
        positions = np.flatnonzero(ids >= 0)
        word_logits = logits[row, positions]
        labeled = len(positions)
        assert labeled == text_outputs["num_labeled_words"][row]
        assert text_outputs["word_label_ids"][row][:labeled] == (
            word_logits.argmax(-1).tolist()
        )
        assert text_outputs["word_labels"][row][:labeled] == [
            ENTITY_LABELS[i] for i in word_logits.argmax(-1)
        ]
        np.testing.assert_allclose(
            text_outputs["word_scores"][row][:labeled],
            tf.nn.softmax(word_logits).numpy().max(-1), atol=1e-5,
        )


def bio_entities(labels, starts, ends):
    """Plain-Python BIO merging: (label, start, end) per entity."""
    entities = []
    previous = "O"
    for label, start, end in zip(labels, starts, ends):
        if label in ("O", ""):
            previous = "O"
            continue
        kind = label[2:] if label[:2] in ("B-", "I-") else label
        previous_kind = (previous[2:] if previous[:2] in ("B-", "I-")
                         else previous)
        if label.startswith("B-") or previous == "O" or kind != previous_kind:
            entities.append([kind, start, end])
        else:
            entities[-1][2] = end
        previous = label
    return entities


def test_served_entities_merge_the_word_labels(served):
    outputs, _, _ = served
    for row, text in enumerate(TEXTS):
        count = outputs["num_entities"][row]
        entities = [
            [label, start, end] for label, start, end in zip(
                outputs["entity_labels"][row][:count],
                outputs["entity_starts"][row], outputs["entity_ends"][row],
            )
        ]
        assert entities == bio_entities(
            outputs["word_labels"][row], outputs["word_starts"][row],
            outputs["word_ends"][row],
        )
        for entity_text, start, end in zip(
            outputs["entity_texts"][row][:count],
            outputs["entity_starts"][row], outputs["entity_ends"][row],
        ):
            assert entity_text == text[start:end]
    assert sum(outputs["num_entities"]) > 0


def test_merge_entities_follows_bio_rules():
    text = tf.constant(["Ada Lovelace and Babbage met Oslo Ny", "", "x y z"])
    labels = tf.ragged.constant([
        ["B-PER", "I-PER", "O", "I-PER", "B-PER", "B-LOC", "I-PER"],
        [],
        ["LOC", "LOC", ""],
    ])
    starts = tf.ragged.constant([[0, 4, 13, 17, 17, 29, 34], [], [0, 2, 4]])
    ends = tf.ragged.constant([[3, 12, 16, 24, 24, 33, 36], [], [1, 3, 5]])
    entities = merge_entities(text, labels, starts, ends)
    assert entities["entity_labels"].to_list() == [
        [b"PER", b"PER", b"PER", b"LOC", b"PER"], [], [b"LOC"]
    ]
    assert entities["entity_texts"].to_list() == [
        [b"Ada Lovelace", b"Babbage", b"Babbage", b"Oslo", b"Ny"], [],
        [b"x y"],
    ]
    assert entities["entity_starts"].to_list() == [[0, 17, 17, 29, 34], [],
                                                   [0]]
    assert entities["entity_ends"].to_list() == [[12, 24, 24, 33, 36], [],
                                                 [3]]


def test_signatures_names_types_and_servable_ops(token_classifier_export):
    check_servable(token_classifier_export)
    signatures = signature_defs(token_classifier_export)
    assert sorted(signatures) == ["predict_token_ids", "serving_default"]
    text = signatures["serving_default"]
    assert list(text.inputs) == ["text"]
    assert text.inputs["text"].dtype == tf.string.as_datatype_enum
    dtypes = {name: tf.dtypes.as_dtype(info.dtype).name
              for name, info in text.outputs.items()}
    assert dtypes == {
        "words": "string", "word_labels": "string",
        "entity_texts": "string", "entity_labels": "string",
        "word_scores": "float32", "word_starts": "int32",
        "word_ends": "int32", "word_label_ids": "int32",
        "entity_starts": "int32", "entity_ends": "int32",
        "num_words": "int32", "num_labeled_words": "int32",
        "num_entities": "int32",
    }
    ids = signatures["predict_token_ids"]
    assert sorted(ids.inputs) == ["padding_mask", "segment_ids", "token_ids"]
    shape = [d.size for d in ids.outputs["logits"].tensor_shape.dim]
    assert shape == [-1, 16, len(ENTITY_LABELS)]
    assert ids.outputs["probabilities"].dtype == tf.float32.as_datatype_enum


def test_clear_errors(token_classifier, tmp_path):
    bare = BertTokenClassifier(token_classifier.backbone, num_classes=5)
    with pytest.raises(ValueError, match="BertTokenClassifierPreprocessor"):
        export_saved_model(bare, str(tmp_path))
    with pytest.raises(ValueError, match="preprocessor"):
        bare.predict_words(["Ada"])
    wrong = BertTokenClassifier(
        token_classifier.backbone, num_classes=5,
        preprocessor=BertClassifierPreprocessor(
            token_classifier.preprocessor.tokenizer
        ),
    )
    with pytest.raises(TypeError, match="BertClassifierPreprocessor"):
        export_saved_model(wrong, str(tmp_path))
    with pytest.raises(ValueError, match="text_pair"):
        export_saved_model(token_classifier, str(tmp_path), text_pair=True)
    with pytest.raises(TypeError, match="list of texts"):
        token_classifier.predict_words("Ada Lovelace")
    assert os.listdir(tmp_path) == []


def test_warmup_covers_signatures_and_length_buckets(
    token_classifier, token_classifier_export, served
):
    _, _, replayed = served
    check_warmup(token_classifier, token_classifier_export, replayed)


def test_words_after_a_control_character_are_kept(token_classifier):
    text = "Ada\x00Lovelace\tmet London"
    result = token_classifier.predict_words([text])
    count = result["num_words"][0]
    assert result["words"][0][:count].tolist() == [
        "Ada", "Lovelace", "met", "London"
    ]
    for word, start, end in zip(result["words"][0], result["word_starts"][0],
                                result["word_ends"][0]):
        assert text[start:end] == word
