"""Tokenizers read from checkpoint files give transformers' ids: WordPiece
(cased and uncased) from vocab.txt, byte-level BPE (GPT-2, RoBERTa) from
vocab.json and merges.txt; and they save back."""

import json

import pytest
import transformers
from tokenizers import AddedToken

from tfzoo.convert import load_tokenizer, save_tokenizer
from tfzoo.tokenizers import WordPieceTokenizer, train_byte_pair_vocabulary

TEXTS = [
    "Hello world, the cat's café is open!",
    "  Spaces   and\ttabs, numbers 12345 and ÜMLAUTS.",
    "Tokenizers shouldn't lose bytes: naïve 東京 🙂",
]
CORPUS = TEXTS * 5 + ["the cat sat on the mat and the dog ran home"] * 20


@pytest.mark.parametrize("lowercase", [True, False])
def test_word_piece_settings_round_trip_through_transformers(
    tmp_path, lowercase
):
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello",
                  "Hello", "world", ",", "the", "cat", "'", "s", "ca",
                  "##fe", "##f", "##é", "is", "open", "!", "caf"]
    save_tokenizer(WordPieceTokenizer(vocabulary, lowercase=lowercase),
                   tmp_path, "bert")
    reference = transformers.AutoTokenizer.from_pretrained(tmp_path)
    tokenizer = load_tokenizer(tmp_path)
    assert tokenizer.lowercase is lowercase
    text = [TEXTS[0]]
    assert tokenizer(text).to_list() == reference(
        text, add_special_tokens=False)["input_ids"]


def write_byte_pair_checkpoint(directory, model_type, special_tokens):
    train_byte_pair_vocabulary(CORPUS, 400, special_tokens=special_tokens,
                               output_dir=str(directory), min_frequency=2)
    (directory / "config.json").write_text(
        json.dumps({"model_type": model_type}))


def test_gpt2_byte_pair_ids_equal_transformers(tmp_path):
    write_byte_pair_checkpoint(tmp_path, "gpt2", ("<|endoftext|>",))
    reference = transformers.GPT2Tokenizer(
        str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"))
    tokenizer = load_tokenizer(tmp_path)
    texts = TEXTS + ["end<|endoftext|>start"]
    assert tokenizer(texts).to_list() == reference(texts)["input_ids"]
    assert tokenizer.end_of_text_id == 0


def test_roberta_byte_pair_ids_and_mask_token_equal_transformers(tmp_path):
    write_byte_pair_checkpoint(
        tmp_path, "roberta", ("<s>", "<pad>", "</s>", "<unk>", "<mask>"))
    # As roberta-base's tokenizer.json: "<mask>" takes the space before it.
    reference = transformers.RobertaTokenizer(
        str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"),
        mask_token=AddedToken("<mask>", lstrip=True))
    tokenizer = load_tokenizer(tmp_path)
    texts = TEXTS + ["The cat <mask> on the mat.</s>"]
    assert tokenizer(texts).to_list() == reference(
        texts, add_special_tokens=False)["input_ids"]
    assert tokenizer.token_to_id("<pad>") == 1

    # Saved again (with a tokenizer_config.json), transformers' Auto class
    # reads the same tokenizer.
    save_tokenizer(tokenizer, tmp_path / "saved", "roberta")
    saved = transformers.AutoTokenizer.from_pretrained(tmp_path / "saved")
    assert saved(texts, add_special_tokens=False)["input_ids"] == \
        tokenizer(texts).to_list()


def test_no_tokenizer_files(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r"vocab.txt \(WordPiece\), a WordPiece "
                             r"tokenizer.json, vocab.json plus merges.txt"):
        load_tokenizer(tmp_path)
