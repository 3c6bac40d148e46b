"""tfzoo models written with save_pretrained load in transformers and give
the same outputs; converting a checkpoint in and out changes no tensor."""

import json
import os

import keras
import numpy as np
import pytest
import safetensors.numpy
import transformers

from tests.convert.hf_reference import (
    assert_close_at,
    padded_batch,
    save_random_model,
    torch_outputs,
)
from tfzoo.models import BertBackbone, BertClassifier, BertMaskedLM
from tfzoo.preprocessing import BertClassifierPreprocessor
from tfzoo.tokenizers import WordPieceTokenizer

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film",
              "was", "good", "bad", "##ly", "!", "é"] + [
    f"word{i}" for i in range(86)]


def tiny_backbone(**kwargs):
    keras.utils.set_random_seed(3)
    backbone = BertBackbone(
        vocabulary_size=99, num_layers=2, num_heads=4, hidden_dim=32,
        intermediate_dim=37, max_sequence_length=64, **kwargs,
    )
    # Random, not the default zeros/ones, so that every tensor matters.
    rng = np.random.default_rng(0)
    for variable in backbone.weights:
        variable.assign(rng.normal(0, 0.2, variable.shape).astype("float32"))
    return backbone


def test_transformers_loads_a_saved_backbone_with_equal_outputs(tmp_path):
    backbone = tiny_backbone()
    backbone.save_pretrained(tmp_path, progress=False)
    assert sorted(os.listdir(tmp_path)) == ["config.json",
                                            "model.safetensors"]
    reference = transformers.AutoModel.from_pretrained(tmp_path).eval()
    assert type(reference).__name__ == "BertModel"
    batch = padded_batch()
    outputs = backbone(batch)
    expected = torch_outputs(reference, batch)
    assert_close_at(outputs["sequence_output"], expected.last_hidden_state,
                    batch["padding_mask"])
    assert_close_at(outputs["pooled_output"], expected.pooler_output)


def test_sharded_save_round_trips(tmp_path):
    backbone = tiny_backbone()
    backbone.save_pretrained(tmp_path, max_shard_size="16KB", progress=False)
    with open(tmp_path / "model.safetensors.index.json") as file:
        index = json.load(file)
    assert len(set(index["weight_map"].values())) > 3
    reference = transformers.BertModel.from_pretrained(tmp_path).eval()
    reloaded = BertBackbone.from_pretrained(tmp_path, progress=False)
    batch = padded_batch(seed=2)
    expected = torch_outputs(reference, batch).last_hidden_state
    for model in (backbone, reloaded):
        assert_close_at(model(batch)["sequence_output"], expected,
                        batch["padding_mask"])


def test_classifier_with_tokenizer_and_label_names_round_trips(tmp_path):
    preprocessor = BertClassifierPreprocessor(
        WordPieceTokenizer(VOCABULARY), sequence_length=16,
        label_names=["negative", "neutral", "positive"],
    )
    model = BertClassifier(tiny_backbone(), num_classes=3,
                           preprocessor=preprocessor)
    model.save_pretrained(tmp_path, progress=False)
    reference = transformers.AutoModelForSequenceClassification\
        .from_pretrained(tmp_path).eval()
    assert reference.config.id2label == {0: "negative", 1: "neutral",
                                         2: "positive"}
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path)
    texts = ["The film was good!", "the film was badly bad", "Été"]
    features = preprocessor(texts)
    encoded = hf_tokenizer(texts, padding="max_length", max_length=16,
                           return_tensors="np")
    np.testing.assert_array_equal(features["token_ids"], encoded["input_ids"])
    features = {k: v.numpy() for k, v in features.items()}
    assert_close_at(model(features), torch_outputs(reference,
                                                   features).logits)
    # And back: tfzoo reads its own checkpoint, labels and tokenizer too.
    loaded = BertClassifier.from_pretrained(tmp_path, sequence_length=16,
                                            progress=False)
    assert loaded.preprocessor.label_names == ["negative", "neutral",
                                               "positive"]
    assert_close_at(loaded(features), model(features))


def test_masked_lm_round_trips_with_tied_decoder(tmp_path):
    model = BertMaskedLM(tiny_backbone())
    model.masked_lm_head.output_bias.assign(
        np.linspace(-1, 1, 99).astype("float32"))
    model.save_pretrained(tmp_path, progress=False)
    reference = transformers.BertForMaskedLM.from_pretrained(tmp_path).eval()
    batch = padded_batch()
    positions = np.array([[1, 2], [3, 0], [4, 6]], "int32")
    expected = np.take_along_axis(
        torch_outputs(reference, batch).logits.numpy(), positions[..., None],
        1)
    assert_close_at(model({**batch, "mask_positions": positions}), expected)


def test_checkpoint_in_and_out_is_unchanged(tmp_path):
    source = tmp_path / "source"
    save_random_model("BertForSequenceClassification", source, num_labels=2)
    BertClassifier.from_pretrained(source, progress=False).save_pretrained(
        tmp_path / "copy", progress=False)
    before = safetensors.numpy.load_file(source / "model.safetensors")
    after = safetensors.numpy.load_file(tmp_path / "copy" /
                                        "model.safetensors")
    assert sorted(before) == sorted(after)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], name)


def randomize(model):
    rng = np.random.default_rng(1)
    for variable in model.weights:
        variable.assign(rng.normal(0, 0.2, variable.shape).astype("float32"))
    return model


def test_token_classifier_question_answerer_and_pretrainer_round_trip(
    tmp_path,
):
    from tfzoo.models import (
        BertPretrainer,
        BertQuestionAnswerer,
        BertTokenClassifier,
    )

    batch = padded_batch(seed=6)
    positions = np.array([[1, 2], [3, 0], [4, 6]], "int32")

    model = randomize(BertTokenClassifier(tiny_backbone(), num_classes=5))
    model.save_pretrained(tmp_path / "tokens", progress=False)
    reference = transformers.AutoModelForTokenClassification.from_pretrained(
        tmp_path / "tokens").eval()
    assert_close_at(model(batch), torch_outputs(reference, batch).logits,
                    batch["padding_mask"])

    model = randomize(BertQuestionAnswerer(tiny_backbone()))
    model.save_pretrained(tmp_path / "qa", progress=False)
    reference = transformers.AutoModelForQuestionAnswering.from_pretrained(
        tmp_path / "qa").eval()
    assert_close_at(model(batch)["start_logits"],
                    torch_outputs(reference, batch).start_logits,
                    batch["padding_mask"])

    model = randomize(BertPretrainer(tiny_backbone()))
    model.save_pretrained(tmp_path / "pretrainer", progress=False)
    reference = transformers.BertForPreTraining.from_pretrained(
        tmp_path / "pretrainer").eval()
    expected = torch_outputs(reference, batch)
    outputs = model({**batch, "mask_positions": positions})
    assert_close_at(outputs["nsp_logits"], expected.seq_relationship_logits)
    assert_close_at(outputs["mlm_logits"], np.take_along_axis(
        expected.prediction_logits.numpy(), positions[..., None], 1))


def test_a_tokenizer_without_a_hugging_face_format_fails_before_writing(
        tmp_path):
    from tfzoo.models import GPTCausalLM
    from tfzoo.tokenizers import (
        SentencePieceTokenizer,
        train_sentence_piece_model,
    )

    proto = train_sentence_piece_model(
        ["a small corpus of words for a tiny model\n"] * 20, 280,
        model_type="bpe")
    tokenizer = SentencePieceTokenizer(proto)
    model = GPTCausalLM.from_preset(
        "gpt_tiny", vocabulary_size=tokenizer.vocabulary_size,
        tokenizer=tokenizer)
    with pytest.raises(ValueError, match="cannot write a "
                                         "SentencePieceTokenizer.*"
                                         "tokenizer=False"):
        model.save_pretrained(tmp_path / "gpt")
    assert not (tmp_path / "gpt").exists()
    model.save_pretrained(tmp_path / "gpt", tokenizer=False)
    assert sorted(os.listdir(tmp_path / "gpt")) == [
        "config.json", "model.safetensors"]
