import json

import pytest
import tensorflow as tf
import transformers

from tfzoo.data import sample_path
from tfzoo.tokenizers import BytePairTokenizer, train_byte_pair_vocabulary
from tfzoo.tokenizers.byte_pair_tokenizer import byte_token_order

TEXTS = [
    "The tide clock was built in 1770; it's still ticking.",
    "We've counted 12,345 boats since the harbour opened.",
    "  Indented text\tand tabs\n\nand blank lines matter.",
    "Café au lait costs 3.50 — naïve pricing! 你好 😀",
] * 10


def test_files_load_in_our_tokenizer_and_hugging_face(tmp_path):
    vocabulary, merges = train_byte_pair_vocabulary(
        sample_path("pretrain_corpus.txt"), 1000, output_dir=str(tmp_path)
    )
    assert len(vocabulary) == 1000
    assert list(vocabulary)[:257] == ["<|endoftext|>"] + byte_token_order()
    assert json.loads((tmp_path / "vocab.json").read_text("utf-8")) == (
        vocabulary
    )
    lines = (tmp_path / "merges.txt").read_text("utf-8").splitlines()
    assert lines[0].startswith("#version") and lines[1:] == merges
    held_out = [
        "The lighthouse keeper's logbook lists 1,204 storms.",
        "Shepherds still move their flocks every summer.",
    ]
    ours = BytePairTokenizer(str(tmp_path / "vocab.json"),
                             str(tmp_path / "merges.txt"))
    reference = transformers.GPT2Tokenizer(
        vocab=str(tmp_path / "vocab.json"), merges=str(tmp_path / "merges.txt")
    )
    ids = ours(held_out).to_list()
    assert ids == [reference(t, add_special_tokens=False)["input_ids"]
                   for t in held_out]
    # Learned merges compress text: fewer than half the byte count.
    assert sum(map(len, ids)) < 0.5 * sum(len(t.encode()) for t in held_out)
    assert ours.end_of_text_id == 0


def test_frequent_words_become_single_tokens():
    vocabulary, merges = train_byte_pair_vocabulary(TEXTS, 400)
    tokenizer = BytePairTokenizer(vocabulary, merges)
    for word in [" tide", " boats", " harbour", "The"]:
        assert len(tokenizer(word).numpy()) == 1, word
    # Merges never cross words: no token holds a space after a letter.
    assert not any(token[:-1].isalpha() and token.endswith("Ġ")
                   for token in vocabulary)


def test_lists_datasets_and_files_train_alike(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    from_list = train_byte_pair_vocabulary([t + "\n" for t in TEXTS], 350)
    dataset = tf.data.Dataset.from_tensor_slices([t + "\n" for t in TEXTS])
    assert train_byte_pair_vocabulary(dataset, 350) == from_list
    from_file = train_byte_pair_vocabulary(str(path), 350)
    assert from_file == train_byte_pair_vocabulary([str(path)], 350)
    assert from_file[1][:20] == from_list[1][:20]


def test_special_tokens_first_and_never_merged():
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    texts = ["<s>hello world</s>", "<s>hello there</s><pad><pad>"] * 20
    vocabulary, merges = train_byte_pair_vocabulary(texts, 300, specials)
    assert list(vocabulary)[:5] == specials
    assert not any("<" in merge or ">" in merge for merge in merges)
    tokenizer = BytePairTokenizer(vocabulary, merges, special_tokens=specials)
    ids = tokenizer("<s>hello</s>").numpy().tolist()
    assert ids[0] == 0 and ids[-1] == 2


def test_roberta_vocabulary_trained_with_its_special_tokens(tmp_path):
    # The README's RoBERTa example: the special tokens trained into the
    # vocabulary (at RoBERTa's ids 0-3, and <mask> too), then a RoBERTa
    # tokenizer on the files, with the ids of transformers' own.
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    vocabulary, _ = train_byte_pair_vocabulary(
        sample_path("pretrain_corpus.txt"), 600, special_tokens=specials,
        output_dir=str(tmp_path),
    )
    assert list(vocabulary)[:5] == specials
    files = str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt")
    ours = BytePairTokenizer(*files, add_prefix_space=True,
                             special_tokens=specials,
                             lstrip_tokens=["<mask>"])
    reference = transformers.RobertaTokenizer(*files, add_prefix_space=True)
    reference.add_special_tokens(
        {"mask_token": transformers.AddedToken("<mask>", lstrip=True)}
    )
    texts = ["<s>The river <mask> south.</s>", "a</s></s>b<pad>",
             "Shepherds <mask>  <mask>x <unk>"]
    assert ours(texts).to_list() == [
        reference(t, add_special_tokens=False)["input_ids"] for t in texts
    ]
    ids = ours(texts[0]).numpy().tolist()
    assert ids[0] == 0 and ids[-1] == 2 and 4 in ids
    # A vocabulary trained without them (the default: <|endoftext|>
    # only) cannot serve RoBERTa, and says so.
    plain = tmp_path / "plain"
    train_byte_pair_vocabulary(sample_path("pretrain_corpus.txt"), 600,
                               output_dir=str(plain))
    with pytest.raises(ValueError, match=r"\['<s>', '<pad>', '</s>', "
                       r"'<unk>', '<mask>'\] are not in the vocabulary"):
        BytePairTokenizer(str(plain / "vocab.json"),
                          str(plain / "merges.txt"), special_tokens=specials)


def test_stops_when_no_pair_repeats():
    vocabulary, merges = train_byte_pair_vocabulary(["abcabc xyz"], 5000)
    assert merges == ["a b", "ab c"]  # "abc abc" occurs once
    assert len(vocabulary) == 257 + 2


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="too small"):
        train_byte_pair_vocabulary(TEXTS, 100)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        train_byte_pair_vocabulary(str(tmp_path / "missing.txt"), 300)
    with pytest.raises(ValueError, match="No texts"):
        train_byte_pair_vocabulary([], 300)
    with pytest.raises(ValueError, match="contain no words"):
        train_byte_pair_vocabulary(["<|endoftext|>"], 300)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt.*not valid UTF-8"):
        train_byte_pair_vocabulary(str(bad), 300)
