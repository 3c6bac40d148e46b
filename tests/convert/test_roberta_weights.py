"""RoBERTa checkpoints load into BertBackbone (position offset 2, one token
type) and its tasks with transformers' outputs, and save back."""

import numpy as np
import pytest
import transformers

from tests.convert.hf_reference import (
    assert_close_at,
    padded_batch,
    save_random_model,
    torch_outputs,
)
from tfzoo.models import (
    BertBackbone,
    BertClassifier,
    BertMaskedLM,
    BertQuestionAnswerer,
    BertTokenClassifier,
)
from tfzoo.tokenizers import train_byte_pair_vocabulary

PAD = 1


def roberta_batch(seed=0):
    return padded_batch(seed, num_segments=1, pad_id=PAD, start_id=0)


def test_backbone_equals_transformers_and_saves_back(tmp_path):
    reference = save_random_model("RobertaModel", tmp_path / "in")
    backbone = BertBackbone.from_pretrained(tmp_path / "in", progress=False)
    assert backbone.position_offset == 2
    assert backbone.max_sequence_length == 64
    assert backbone.num_segments == 1
    batch = roberta_batch()
    outputs = backbone(batch)
    expected = torch_outputs(reference, batch)
    assert_close_at(outputs["sequence_output"], expected.last_hidden_state,
                    batch["padding_mask"])
    assert_close_at(outputs["pooled_output"], expected.pooler_output)

    backbone.save_pretrained(tmp_path / "out", progress=False)
    saved = transformers.AutoModel.from_pretrained(tmp_path / "out").eval()
    assert type(saved).__name__ == "RobertaModel"
    assert_close_at(torch_outputs(saved, batch).last_hidden_state,
                    expected.last_hidden_state, batch["padding_mask"])


def test_classifier_head_maps_to_pooler_and_output(tmp_path):
    reference = save_random_model(
        "RobertaForSequenceClassification", tmp_path / "in", num_labels=3)
    model = BertClassifier.from_pretrained(tmp_path / "in", progress=False)
    assert model.conversion_report.fresh_groups == []
    batch = roberta_batch()
    expected = torch_outputs(reference, batch).logits
    assert_close_at(model(batch), expected)
    model.save_pretrained(tmp_path / "out", progress=False)
    saved = transformers.RobertaForSequenceClassification.from_pretrained(
        tmp_path / "out").eval()
    assert_close_at(torch_outputs(saved, batch).logits, expected)


def test_token_classifier_question_answerer_and_masked_lm(tmp_path):
    batch = roberta_batch(seed=3)
    reference = save_random_model("RobertaForTokenClassification",
                                  tmp_path / "tokens", num_labels=4)
    model = BertTokenClassifier.from_pretrained(tmp_path / "tokens",
                                                progress=False)
    assert_close_at(model(batch), torch_outputs(reference, batch).logits,
                    batch["padding_mask"])

    reference = save_random_model("RobertaForQuestionAnswering",
                                  tmp_path / "qa")
    model = BertQuestionAnswerer.from_pretrained(tmp_path / "qa",
                                                 progress=False)
    expected = torch_outputs(reference, batch)
    assert_close_at(model(batch)["end_logits"], expected.end_logits,
                    batch["padding_mask"])

    reference = save_random_model("RobertaForMaskedLM", tmp_path / "mlm")
    model = BertMaskedLM.from_pretrained(tmp_path / "mlm", progress=False)
    positions = np.array([[1, 2], [3, 0], [4, 6]], "int32")
    expected = np.take_along_axis(
        torch_outputs(reference, batch).logits.numpy(),
        positions[..., None], 1)
    assert_close_at(model({**batch, "mask_positions": positions}), expected)


def test_raw_text_token_classification_still_needs_token_ids(tmp_path):
    save_random_model("RobertaForTokenClassification", tmp_path)
    train_byte_pair_vocabulary(
        ["the cat sat on the mat"] * 20, 270,
        special_tokens=("<s>", "<pad>", "</s>", "<unk>", "<mask>"),
        output_dir=str(tmp_path))
    with pytest.raises(NotImplementedError,
                       match="BertTokenClassifierPreprocessor needs a "
                             "WordPieceTokenizer .*got a BytePairTokenizer"):
        BertTokenClassifier.from_pretrained(tmp_path, sequence_length=16,
                                            progress=False)
