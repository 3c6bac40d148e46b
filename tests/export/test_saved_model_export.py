import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tests.export.servables import run_without_tfzoo
from tfzoo.data import read_classification_file, sample_path
from tfzoo.export import export_saved_model
from tfzoo.models import BertClassifier, BertMaskedLM
from tfzoo.preprocessing import BertClassifierPreprocessor
from tfzoo.tokenizers import WordPieceTokenizer, train_word_piece_vocabulary

TEXTS = ["The staff were lovely.", "It broke after a day!", "naïve café 😀"]


@pytest.fixture(scope="module")
def classifier():
    train, _ = read_classification_file(sample_path("sentiment_train.jsonl"))
    vocabulary = train_word_piece_vocabulary(train["text"], 1000)
    preprocessor = BertClassifierPreprocessor(
        WordPieceTokenizer(vocabulary), sequence_length=32,
        label_names=["negative", "positive"],
    )
    return BertClassifier.from_preset(
        "bert_tiny", vocabulary_size=len(vocabulary),
        max_sequence_length=32, preprocessor=preprocessor,
    )


def test_raw_text_signature_matches_in_process_predictions(
    classifier, tmp_path
):
    path = export_saved_model(classifier, str(tmp_path))
    assert path == str(tmp_path / "1")
    served = run_without_tfzoo(
        f"model = tf.saved_model.load({path!r})\n"
        f"out = model.signatures['serving_default'](text=tf.constant({TEXTS!r}))\n"
        "print(json.dumps({k: v.numpy().tolist() for k, v in out.items()},"
        " default=lambda b: b.decode()))"
    )
    expected = classifier.predict(TEXTS, verbose=0)
    np.testing.assert_allclose(served["logits"], expected, atol=1e-5)
    assert served["label_names"] == [
        ["negative", "positive"][i] for i in np.argmax(expected, -1)
    ]
    np.testing.assert_allclose(
        np.sum(served["probabilities"], -1), 1.0, atol=1e-6
    )


def test_classify_and_token_id_signatures(classifier, tmp_path):
    path = export_saved_model(classifier, str(tmp_path))
    example = tf.train.Example(features=tf.train.Features(feature={
        "text": tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[TEXTS[0].encode()])
        )
    })).SerializeToString()
    features = classifier.preprocessor([TEXTS[0]])
    served = run_without_tfzoo(
        f"model = tf.saved_model.load({path!r})\n"
        f"c = model.signatures['classify'](inputs=tf.constant([{example!r}]))\n"
        "ids = model.signatures['predict_token_ids'](\n"
        f"    token_ids=tf.constant({features['token_ids'].numpy().tolist()}),\n"
        f"    segment_ids=tf.constant({features['segment_ids'].numpy().tolist()}),\n"
        f"    padding_mask=tf.constant({features['padding_mask'].numpy().tolist()}))\n"
        "print(json.dumps({'classes': c['classes'].numpy().tolist(),"
        " 'scores': c['scores'].numpy().tolist(),"
        " 'logits': ids['logits'].numpy().tolist()},"
        " default=lambda b: b.decode()))"
    )
    expected = classifier.predict([TEXTS[0]], verbose=0)
    assert served["classes"] == [["negative", "positive"]]
    np.testing.assert_allclose(
        served["scores"], tf.nn.softmax(expected).numpy(), atol=1e-5
    )
    np.testing.assert_allclose(served["logits"], expected, atol=1e-5)

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as file:
        proto.ParseFromString(file.read())
    signatures = proto.meta_graphs[0].signature_def
    assert signatures["classify"].method_name == "tensorflow/serving/classify"
    assert sorted(signatures["classify"].outputs) == ["classes", "scores"]
    assert os.path.exists(
        os.path.join(path, "assets.extra", "tf_serving_warmup_requests")
    )


def test_versions_grow_and_no_temporary_directory_remains(
    classifier, tmp_path
):
    first = export_saved_model(classifier, str(tmp_path))
    second = export_saved_model(classifier, str(tmp_path))
    assert [os.path.basename(first), os.path.basename(second)] == ["1", "2"]
    assert sorted(os.listdir(tmp_path)) == ["1", "2"]
    with pytest.raises(FileExistsError, match="Version 2 already exists"):
        export_saved_model(classifier, str(tmp_path), version=2)


def test_needs_a_preprocessor(classifier, tmp_path):
    bare = BertClassifier(classifier.backbone)
    with pytest.raises(ValueError, match="preprocessor"):
        export_saved_model(bare, str(tmp_path))


def test_unsupported_models_are_named_with_the_supported_ones(
    classifier, tmp_path
):
    with pytest.raises(TypeError, match=(
        r"cannot export a BertMaskedLM: its serving_kind is None; tasks of "
        r"kinds \['classifier', 'embedder', 'generator', "
        r"'question_answerer', 'token_classifier'\] export"
    )):
        export_saved_model(BertMaskedLM(classifier.backbone), str(tmp_path))
    assert os.listdir(tmp_path) == []
