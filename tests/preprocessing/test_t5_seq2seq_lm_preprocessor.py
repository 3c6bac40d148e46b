"""Tests of `T5Seq2SeqLMPreprocessor`: T5's packing, truncation, length
buckets, the accepted input forms, and tokenizers it cannot use."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfzoo.preprocessing.t5_seq2seq_lm_preprocessor import (
    T5Seq2SeqLMPreprocessor,
)
from tfzoo.tokenizers import SentencePieceTokenizer, train_sentence_piece_model

TEXTS = ["the cat sat on the mat", "a dog ran in the park",
         "birds sing in the morning light"] * 10
END, PAD = 1, 0


@pytest.fixture(scope="module")
def tokenizer():
    return SentencePieceTokenizer(train_sentence_piece_model(
        TEXTS, 300, model_type="bpe", pad_id=0, eos_id=1, unk_id=2,
        bos_id=-1, add_dummy_prefix=True))


def ids_of(tokenizer, text):
    return tokenizer([text])[0].numpy().tolist()


def test_packs_as_t5(tokenizer):
    preprocessor = T5Seq2SeqLMPreprocessor(tokenizer, 64, 32)
    sources = ["translate: the cat", "the dog ran in the park"]
    targets = ["a mat", "birds"]
    x, labels, weights = preprocessor(sources, targets)
    for row, (source, target) in enumerate(zip(sources, targets)):
        source_ids, target_ids = (ids_of(tokenizer, source),
                                  ids_of(tokenizer, target))
        n, m = len(source_ids) + 1, len(target_ids) + 1
        encoder = x["encoder_token_ids"][row].numpy()
        assert encoder[:n].tolist() == source_ids + [END]
        assert (encoder[n:] == PAD).all()
        assert x["encoder_padding_mask"][row].numpy().sum() == n
        assert labels[row, :m].numpy().tolist() == target_ids + [END]
        assert x["decoder_token_ids"][row, :m].numpy().tolist() == (
            [PAD] + target_ids)
        assert x["decoder_padding_mask"][row].numpy().sum() == m
        assert weights[row].numpy().tolist() == [1.0] * m + [0.0] * (
            labels.shape[1] - m)


def test_length_buckets_and_truncation(tokenizer):
    preprocessor = T5Seq2SeqLMPreprocessor(tokenizer, 48, 20)
    short, _, _ = preprocessor(["the cat"], ["a dog"])
    assert short["encoder_token_ids"].shape == (1, 16)
    assert short["decoder_token_ids"].shape == (1, 16)
    long_text = " ".join(TEXTS[:6])
    x, labels, weights = preprocessor([long_text], [long_text])
    # Cut to the sequence lengths, still ending in </s>.
    assert x["encoder_token_ids"].shape == (1, 48)
    assert labels.shape == (1, 20)
    assert x["encoder_token_ids"][0, -1] == END and labels[0, -1] == END
    assert x["encoder_token_ids"][0, :47].numpy().tolist() == ids_of(
        tokenizer, long_text)[:47]
    assert weights.numpy().min() == 1.0
    # What gets cut is counted, never silent.
    assert preprocessor.count_truncated([long_text], [long_text]) == (1, 1)
    assert preprocessor.count_truncated([long_text, "a", long_text],
                                        ["a", "b", "c"],
                                        batch_size=2) == (2, 0)
    assert preprocessor.count_truncated(targets=[long_text]) == (0, 1)
    fixed = T5Seq2SeqLMPreprocessor(tokenizer, 48, 20, length_buckets=False)
    x, labels, _ = fixed(["the cat"], ["a dog"])
    assert x["encoder_token_ids"].shape == (1, 48) and labels.shape == (1, 20)


def test_input_forms_sample_weight_and_sources_only(tokenizer):
    preprocessor = T5Seq2SeqLMPreprocessor(tokenizer, 32, 16)
    sources, targets = ["the cat", "a dog"], ["sat", "ran"]
    expected = preprocessor(sources, targets)
    for x in ({"encoder_text": sources, "decoder_text": targets},
              {"text": sources, "text_pair": targets}, (sources, targets)):
        got = preprocessor(x)
        tf.nest.map_structure(np.testing.assert_array_equal, got, expected)
    _, _, weights = preprocessor(sources, targets, sample_weight=[2.0, 0.5])
    np.testing.assert_allclose(weights.numpy().max(axis=1), [2.0, 0.5])
    only = preprocessor(tf.constant(sources))
    assert sorted(only) == ["encoder_padding_mask", "encoder_token_ids"]
    with pytest.raises(ValueError, match="'encoder_text' and 'decoder_text'"):
        preprocessor({"source": sources})


def test_runs_in_tf_data_and_round_trips(tokenizer, tmp_path):
    preprocessor = T5Seq2SeqLMPreprocessor(tokenizer, 32, 16)
    dataset = tf.data.Dataset.from_tensor_slices(
        (["the cat", "a dog", "birds sing"], ["sat", "ran", "in"])
    ).batch(2).map(preprocessor)
    shapes = [x["encoder_token_ids"].shape for x, _, _ in dataset]
    assert shapes == [(2, 16), (1, 16)]
    # Stateless: the position of an iterator over it can be checkpointed.
    iterator = iter(dataset)
    next(iterator)
    checkpoint = tf.train.Checkpoint(data=iterator)
    path = checkpoint.write(str(tmp_path / "data"))
    expected = next(iterator)[0]["encoder_token_ids"].numpy()
    restored_iterator = iter(dataset)
    tf.train.Checkpoint(data=restored_iterator).read(path)
    np.testing.assert_array_equal(
        next(restored_iterator)[0]["encoder_token_ids"].numpy(), expected)
    restored = keras.layers.deserialize(keras.layers.serialize(preprocessor))
    assert restored.get_config() == preprocessor.get_config()


def test_tokenizers_without_t5_specials_are_errors():
    gpt_style = SentencePieceTokenizer(train_sentence_piece_model(
        TEXTS, 300, model_type="bpe"))  # <pad> 0, </s> 3: usable
    assert T5Seq2SeqLMPreprocessor(gpt_style).end_id == 3
    no_end = SentencePieceTokenizer(train_sentence_piece_model(
        TEXTS, 300, model_type="bpe", eos_id=-1))
    with pytest.raises(ValueError, match=r"end-of-sequence piece \('</s>'\)"):
        T5Seq2SeqLMPreprocessor(no_end)
    pad_elsewhere = SentencePieceTokenizer(train_sentence_piece_model(
        TEXTS, 300, model_type="bpe", pad_id=3, eos_id=1, unk_id=2,
        bos_id=0))
    with pytest.raises(ValueError, match=r"'<pad>' must be id 0; it is 3"):
        T5Seq2SeqLMPreprocessor(pad_elsewhere)
    with pytest.raises(ValueError, match="decoder_sequence_length must be"):
        T5Seq2SeqLMPreprocessor(gpt_style, decoder_sequence_length=1)
