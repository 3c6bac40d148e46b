"""A new head on an old checkpoint: another num_classes (or label set) is
an error that names `ignore_mismatched_sizes`; with it the mismatched
head tensors start fresh with a warning naming them and their shapes, as
in transformers, and everything else still loads."""

import logging

import numpy as np
import pytest
import transformers

import tfzoo
from tests.convert.hf_reference import (
    VOCABULARY_SIZE,
    assert_close_at,
    padded_batch,
    save_random_model,
    torch_outputs,
)
from tfzoo.convert import ShapeMismatchError
from tfzoo.models import BertClassifier, BertTokenClassifier


def test_another_num_classes_is_an_error_naming_the_flag(tmp_path):
    save_random_model("BertForSequenceClassification", tmp_path,
                      num_labels=3)
    with pytest.raises(
        ShapeMismatchError,
        match=r"'classifier.weight' .* shape \[3, 32\].* needs \[5, 32\].*"
              r"pass ignore_mismatched_sizes=True to start the classifier "
              r"head fresh",
    ):
        BertClassifier.from_pretrained(tmp_path, num_classes=5,
                                       progress=False)


def test_the_flag_starts_the_head_fresh_with_a_warning(tmp_path, caplog):
    reference = save_random_model("BertForSequenceClassification", tmp_path,
                                  num_labels=3)
    with caplog.at_level(logging.WARNING, logger="tfzoo.convert"):
        model = BertClassifier.from_pretrained(
            tmp_path, num_classes=5, ignore_mismatched_sizes=True,
            progress=False)
    assert model.num_classes == 5
    report = model.conversion_report
    assert report.fresh_groups == ["classifier head"]
    assert report.mismatched_tensors == [
        ("classifier.weight", [3, 32], [5, 32]),
        ("classifier.bias", [3], [5]),
    ]
    assert report.unused_tensors == report.unexpected_tensors == []
    assert ("classifier.weight [3, 32] in the checkpoint, [5, 32] in the "
            "model; classifier.bias [3] in the checkpoint, [5] in the "
            "model") in caplog.text
    assert "ignore_mismatched_sizes=True" in caplog.text
    # The encoder and pooler came from the checkpoint.
    batch = padded_batch()
    expected = torch_outputs(reference.bert, batch).pooler_output
    assert_close_at(model.backbone(batch)["pooled_output"], expected)
    assert np.asarray(model(batch)).shape == (3, 5)
    # transformers resizes the same tensors.
    hf_model = transformers.BertForSequenceClassification.from_pretrained(
        tmp_path, num_labels=5, ignore_mismatched_sizes=True)
    assert hf_model.classifier.weight.shape == (5, 32)


def test_label_names_of_another_count_through_tfzoo_from_pretrained(
        tmp_path, caplog):
    reference = save_random_model("BertForTokenClassification", tmp_path,
                                  num_labels=5)
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
        f"w{i}" for i in range(VOCABULARY_SIZE - 5)]
    (tmp_path / "vocab.txt").write_text("\n".join(vocabulary) + "\n")
    labels = ["O", "B-X", "I-X"]
    with pytest.raises(ShapeMismatchError, match="ignore_mismatched_sizes"):
        tfzoo.from_pretrained(tmp_path, label_names=labels, progress=False)
    with caplog.at_level(logging.WARNING, logger="tfzoo.convert"):
        model = tfzoo.from_pretrained(
            tmp_path, label_names=labels, sequence_length=16,
            ignore_mismatched_sizes=True, progress=False)
    assert type(model) is BertTokenClassifier
    assert model.num_classes == 3
    assert model.preprocessor.label_names == labels
    assert "classifier.weight [5, 32] in the checkpoint, [3, 32]" in (
        caplog.text)
    batch = padded_batch(seed=3)
    hidden = torch_outputs(reference.bert, batch).last_hidden_state
    assert_close_at(model.backbone(batch)["sequence_output"], hidden,
                    batch["padding_mask"])


def test_roberta_keeps_the_classifier_dense_like_transformers(tmp_path):
    reference = save_random_model("RobertaForSequenceClassification",
                                  tmp_path, num_labels=2)
    model = BertClassifier.from_pretrained(
        tmp_path, num_classes=4, ignore_mismatched_sizes=True,
        progress=False)
    assert [name for name, _, _ in model.conversion_report
            .mismatched_tensors] == ["classifier.out_proj.weight",
                                     "classifier.out_proj.bias"]
    # classifier.dense is RoBERTa's pooler in tfzoo: it still loads.
    kernel = reference.classifier.dense.weight.detach().numpy().T
    np.testing.assert_array_equal(model.backbone.pooler.kernel.numpy(),
                                  kernel)
