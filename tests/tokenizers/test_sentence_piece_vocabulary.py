import random

import pytest
import sentencepiece
import tensorflow as tf
from sentencepiece import sentencepiece_model_pb2

from tfzoo.tokenizers import SentencePieceTokenizer, train_sentence_piece_model

TEXTS = [
    "The ferry to the island leaves at 7:15 every morning.",
    "Gulls follow the ferry, hoping for bread from the passengers.",
    "On windy days the crossing takes forty minutes instead of twenty.",
    "The captain has sailed this route for 31 years.",
    "Passengers drink tea and watch the island grow larger.",
    "A small café by the landing sells soup, crêpes and maps.",
    "The island school has nine pupils and one teacher.\n"
    "In spring the teacher takes them to count seabirds.",
] * 4


@pytest.fixture(scope="module")
def unigram():
    return train_sentence_piece_model(TEXTS, 330)


def test_model_loads_in_sentencepiece_and_our_tokenizer(unigram, tmp_path):
    path = tmp_path / "models" / "ferry.model"
    proto = train_sentence_piece_model(TEXTS, 330, output_path=str(path))
    assert path.read_bytes() == proto == unigram  # training is repeatable
    reference = sentencepiece.SentencePieceProcessor(model_file=str(path))
    tokenizer = SentencePieceTokenizer(str(path))
    assert reference.vocab_size() == tokenizer.vocabulary_size == 330
    pieces = tokenizer.get_vocabulary()
    assert pieces[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert pieces[4:260] == [f"<0x{b:02X}>" for b in range(256)]
    assert (reference.pad_id(), reference.unk_id(), reference.bos_id(),
            reference.eos_id()) == (0, 1, 2, 3)
    assert tokenizer.end_of_text_id == 3
    # Frequent words become single pieces, a space starting the piece.
    assert "▁ferry" in pieces and "▁teacher" in pieces


def test_no_text_is_unknown_and_text_round_trips(unigram):
    tokenizer = SentencePieceTokenizer(unigram)
    rng = random.Random(0)
    alphabet = "abcXYZ019 \t\n\r.,!?éßΩЖ東京한😀👍🏽\u00a0\u2028\u0301ﬁ①"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
             for _ in range(200)]
    ids = tokenizer(texts)
    assert 1 not in ids.flat_values.numpy()  # "<unk>"
    assert [t.decode("utf-8") for t in tokenizer.detokenize(ids).numpy()] == (
        texts)


def test_unigram_and_bpe(unigram):
    bpe = train_sentence_piece_model(TEXTS, 330, model_type="bpe")
    types = []
    for proto in (unigram, bpe):
        model = sentencepiece_model_pb2.ModelProto()
        model.ParseFromString(proto)
        types.append(model.trainer_spec.model_type)
        assert model.trainer_spec.byte_fallback
        assert model.normalizer_spec.name == "identity"
        assert not model.normalizer_spec.add_dummy_prefix
        assert not model.normalizer_spec.remove_extra_whitespaces
    unigram_type = sentencepiece_model_pb2.TrainerSpec.UNIGRAM
    assert types == [unigram_type, sentencepiece_model_pb2.TrainerSpec.BPE]
    assert SentencePieceTokenizer(bpe).get_vocabulary() != (
        SentencePieceTokenizer(unigram).get_vocabulary())


def test_lists_and_datasets_train_alike(unigram):
    dataset = tf.data.Dataset.from_tensor_slices(TEXTS)
    assert train_sentence_piece_model(dataset, 330) == unigram
    assert train_sentence_piece_model(dataset.batch(3), 330) == unigram
    assert train_sentence_piece_model(iter(TEXTS), 330) == unigram


def test_options_override_the_defaults():
    proto = train_sentence_piece_model(
        TEXTS, 330, split_digits=True, user_defined_symbols=["<|tool|>"],
        eos_id=-1,
    )
    tokenizer = SentencePieceTokenizer(proto)
    pieces = [tokenizer.id_to_token(i) for i in
              tokenizer("at 7:15 <|tool|>").numpy()]
    assert "<|tool|>" in pieces and "15" not in pieces and "5" in pieces
    assert tokenizer.end_of_text_id is None


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"vocabulary_size=5000 is too large "
                                         r"for these texts.*at most \d+"):
        train_sentence_piece_model(TEXTS, 5000)
    with pytest.raises(ValueError, match=r"vocabulary_size=100 is too small.*"
                                         r"Raise vocabulary_size to at least"):
        train_sentence_piece_model(TEXTS, 100)
    with pytest.raises(ValueError, match="No texts"):
        train_sentence_piece_model([], 330)
    with pytest.raises(ValueError, match="No texts"):
        train_sentence_piece_model(["", ""], 330)
    with pytest.raises(TypeError, match="not one string"):
        train_sentence_piece_model("the ferry leaves", 330)
    with pytest.raises(ValueError, match="model_type must be one of"):
        train_sentence_piece_model(TEXTS, 330, model_type="wordpiece")
    with pytest.raises(TypeError, match=r"\['vocab_size'\] are set by"):
        train_sentence_piece_model(TEXTS, 330, vocab_size=20)
    bad = tf.data.Dataset.from_tensor_slices([b"fine", b"caf\xe9"])
    with pytest.raises(ValueError, match="Text 1 is not valid UTF-8"):
        train_sentence_piece_model(bad, 330)


def test_lines_too_long_for_training_are_reported():
    texts = ["a short line about cats and dogs\n"] * 30 + ["z" * 300]
    with pytest.warns(UserWarning, match="1 of 31 lines are longer than "
                                         "max_sentence_length=200"):
        train_sentence_piece_model(texts, 280, model_type="bpe",
                                   max_sentence_length=200)
