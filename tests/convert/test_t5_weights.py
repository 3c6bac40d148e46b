"""Hugging Face T5 checkpoints in and out: tiny random T5 (ReLU, tied) and
T5 v1.1 (gated GELU, untied) models saved by `transformers` load as the
tfzoo model their config.json names, with equal logits, and tfzoo's
save_pretrained writes a directory `transformers` loads."""

import json

import numpy as np
import pytest
import torch
import transformers

import tfzoo
from tests.models.t5.hf_t5 import hf_model
from tfzoo.models import T5Backbone, T5Seq2SeqLM
from tfzoo.tokenizers import SentencePieceTokenizer, train_sentence_piece_model

ENCODER_IDS = np.array([[5, 9, 14, 3, 22, 1, 0, 0], [11, 4, 4, 19, 2, 8, 30, 1]],
                       "int32")
DECODER_IDS = np.array([[0, 7, 8, 9, 0], [0, 12, 13, 0, 0]], "int32")


def inputs():
    return {
        "encoder_token_ids": ENCODER_IDS,
        "encoder_padding_mask": (np.arange(8) < np.array([[6], [8]])
                                 ).astype("int32"),
        "decoder_token_ids": DECODER_IDS,
        "decoder_padding_mask": (np.arange(5) < np.array([[4], [3]])
                                 ).astype("int32"),
    }


def hf_logits(model):
    x = inputs()
    with torch.no_grad():
        return model(
            input_ids=torch.tensor(x["encoder_token_ids"], dtype=torch.long),
            attention_mask=torch.tensor(x["encoder_padding_mask"]),
            decoder_input_ids=torch.tensor(x["decoder_token_ids"],
                                           dtype=torch.long),
            decoder_attention_mask=torch.tensor(x["decoder_padding_mask"]),
        ).logits.numpy()


def tfzoo_logits(model):
    x = inputs()
    hidden = model.backbone(x)["decoder_sequence_output"]
    return np.asarray(model.backbone.logits(hidden))


def real_positions(array):
    mask = inputs()["decoder_padding_mask"].astype(bool)
    return array[mask]


@pytest.mark.parametrize("v1_1", [False, True], ids=["t5", "t5_v1_1"])
def test_round_trip_through_transformers(v1_1, tmp_path):
    hf = hf_model(v1_1, seed=3)
    hf.save_pretrained(tmp_path / "hf")
    model = tfzoo.from_pretrained(str(tmp_path / "hf"), progress=False)
    assert type(model) is T5Seq2SeqLM
    assert model.backbone.tie_embedding_weights is (not v1_1)
    expected = hf_logits(hf)
    np.testing.assert_allclose(real_positions(tfzoo_logits(model)),
                               real_positions(expected), atol=1e-4)
    report = model.conversion_report
    assert report.loaded_tensors > 0

    model.save_pretrained(str(tmp_path / "back"), progress=False)
    config = json.loads((tmp_path / "back" / "config.json").read_text())
    assert config["architectures"] == ["T5ForConditionalGeneration"]
    reloaded = transformers.T5ForConditionalGeneration.from_pretrained(
        tmp_path / "back").eval()
    np.testing.assert_allclose(real_positions(hf_logits(reloaded)),
                               real_positions(expected), atol=1e-4)


def test_backbone_and_spiece_tokenizer(tmp_path):
    proto = train_sentence_piece_model(
        ["the tide turns at the old pier\n", "gulls circle the harbour\n"]
        * 20, 279, model_type="unigram", pad_id=0, eos_id=1, unk_id=2,
        bos_id=-1, add_dummy_prefix=True)
    hf = hf_model(False, seed=4, vocab_size=279)
    hf.save_pretrained(tmp_path)
    (tmp_path / "spiece.model").write_bytes(proto)
    backbone = T5Backbone.from_pretrained(str(tmp_path), progress=False)
    model = T5Seq2SeqLM.from_pretrained(str(tmp_path), progress=False)
    assert isinstance(model.tokenizer, SentencePieceTokenizer)
    np.testing.assert_allclose(
        np.asarray(backbone(inputs())["encoder_sequence_output"]),
        np.asarray(model.backbone(inputs())["encoder_sequence_output"]),
        atol=1e-6)
    model.save_pretrained(str(tmp_path / "back"), progress=False)
    assert (tmp_path / "back" / "spiece.model").read_bytes() == proto
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(
        tmp_path / "back")
    text = "the gulls turn at the pier"
    assert model.tokenizer([text]).to_list()[0] == hf_tokenizer(
        text, add_special_tokens=False)["input_ids"]


def test_mt5_names_the_same_layout(tmp_path):
    config = hf_model(True, seed=6).config.to_dict()
    config.update(model_type="mt5",
                  architectures=["MT5ForConditionalGeneration"])
    hf = transformers.MT5ForConditionalGeneration(
        transformers.MT5Config(**config)).eval()
    with torch.no_grad():  # an lm_head of its own, as mT5 checkpoints have
        hf.lm_head.weight = torch.nn.Parameter(
            torch.randn_like(hf.shared.weight) * 0.2)
    hf.save_pretrained(tmp_path)
    model = tfzoo.from_pretrained(str(tmp_path), progress=False)
    assert type(model) is T5Seq2SeqLM
    np.testing.assert_allclose(real_positions(tfzoo_logits(model)),
                               real_positions(hf_logits(hf)), atol=1e-4)
