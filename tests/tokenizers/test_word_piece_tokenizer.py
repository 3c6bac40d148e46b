import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import transformers

from tfzoo.tokenizers import WordPieceTokenizer

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUNCTUATION = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + [
    "¿", "¡", "«", "»", "…", "—",
]
WORDS = [
    "the", "a", "cafe", "café", "naive", "hello", "world", "play", "##ing",
    "##ed", "un", "##believ", "##able", "##s", "i", "don", "t", "it", "is",
    "good", "movie", "你", "好", "世", "界", "я", "люблю", "東", "京", "12",
    "##3", "##4", "1", "##0", "ok", "x", "##x", "straße", "strasse", "dog",
    "##gy", "Hello", "The", "Café", "##ß",
]
TRICKY = [
    "",
    "   \t\n ",
    "Hello, World!",
    "The café is naïve.",
    "I don't like it",
    "unbelievable playing played",
    "你好世界",
    "東京 2024",
    "Я люблю",
    "emoji 😀 ok",
    "a\x00b\u200dc",
    "x" * 150,
    "xx" * 60,
    "dog\u00adgy",
    "STRASSE Straße",
    "tab\there\nnew line\r\n",
    "¿Qué? ¡Sí! «quoted» …",
    "Hello [MASK] world [SEP]",
    "12345 1000",
    "👨\u200d👩\u200d👧 family",
    "mixed日本語text",
    "\u3000full\u3000width",
    "a\u2028b\u2029c",
    "İstanbul ΣΑΣ",
    "e\u0301\u0301",
]


@pytest.fixture(scope="module")
def vocabulary_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(SPECIALS + PUNCTUATION + WORDS) + "\n",
                    encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("lowercase", [True, False])
def test_ids_equal_hugging_face_bert_tokenizer(vocabulary_file, lowercase):
    ours = WordPieceTokenizer(vocabulary_file, lowercase=lowercase)
    reference = transformers.BertTokenizer(
        vocabulary_file, do_lower_case=lowercase
    )
    got = ours(TRICKY).to_list()
    for text, ids in zip(TRICKY, got):
        expected = reference(text, add_special_tokens=False)["input_ids"]
        assert ids == expected, (text, ids, expected)


def test_special_tokens_and_lookups(vocabulary_file):
    tokenizer = WordPieceTokenizer(vocabulary_file)
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id,
            tokenizer.cls_token_id, tokenizer.sep_token_id,
            tokenizer.mask_token_id) == (0, 1, 2, 3, 4)
    assert tokenizer.id_to_token(tokenizer.token_to_id("play")) == "play"
    assert tokenizer.vocabulary_size == len(
        open(vocabulary_file, encoding="utf-8").read().split()
    )
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        tokenizer.token_to_id("zebra")
    with pytest.raises(IndexError, match="outside the vocabulary"):
        tokenizer.id_to_token(10_000)


def test_detokenize_joins_word_pieces(vocabulary_file):
    tokenizer = WordPieceTokenizer(vocabulary_file)
    ids = tokenizer(["Playing, the movie!", "unbelievable"])
    assert tokenizer.detokenize(ids).numpy().tolist() == [
        b"playing , the movie !", b"unbelievable"
    ]
    assert tokenizer.detokenize(ids.to_tensor()).numpy()[1] == b"unbelievable"


def test_scalar_input_and_empty_strings(vocabulary_file):
    tokenizer = WordPieceTokenizer(vocabulary_file)
    assert tokenizer("hello world").numpy().tolist() == [
        tokenizer.token_to_id("hello"), tokenizer.token_to_id("world")
    ]
    assert tokenizer(["", " "]).to_list() == [[], []]


def test_runs_in_tf_data_and_xla_free_tf_function(vocabulary_file):
    tokenizer = WordPieceTokenizer(vocabulary_file)
    eager = tokenizer(TRICKY).to_list()
    dataset = tf.data.Dataset.from_tensor_slices(TRICKY).batch(4).map(
        tokenizer, num_parallel_calls=2
    )
    from_data = [row for batch in dataset for row in batch.to_list()]
    assert from_data == eager
    graph = tf.function(lambda t: tokenizer(t).to_tensor())
    assert graph(tf.constant(TRICKY)).numpy().tolist() == (
        tf.ragged.constant(eager).to_tensor().numpy().tolist()
    )


def test_saved_model_runs_without_tfzoo(vocabulary_file, tmp_path):
    tokenizer = WordPieceTokenizer(vocabulary_file)
    module = tf.Module()
    module.tokenizer = tokenizer
    module.tokenize = tf.function(
        lambda text: tokenizer(text).to_tensor(),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    path = str(tmp_path / "tokenizer")
    tf.saved_model.save(module, path)
    script = (
        "import sys, tensorflow as tf, tensorflow_text\n"
        "assert 'tfzoo' not in sys.modules\n"
        f"loaded = tf.saved_model.load({path!r})\n"
        "print(loaded.tokenize(tf.constant(['Hello, World!', 'naïve café']))"
        ".numpy().tolist())\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True,
        check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    ).stdout.strip().splitlines()[-1]
    expected = tokenizer(["Hello, World!", "naïve café"]).to_tensor()
    assert output == str(expected.numpy().tolist())


def test_config_round_trip(vocabulary_file):
    tokenizer = WordPieceTokenizer(vocabulary_file, lowercase=False)
    rebuilt = keras.layers.deserialize(keras.layers.serialize(tokenizer))
    assert rebuilt(TRICKY).to_list() == tokenizer(TRICKY).to_list()


def test_bad_vocabularies_and_inputs(tmp_path):
    with pytest.raises(ValueError, match=r"lacks the special tokens \['\[MASK\]'\]"):
        WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"])
    with pytest.raises(ValueError, match="lists 'a' twice"):
        WordPieceTokenizer(SPECIALS + ["a", "a"])
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        WordPieceTokenizer(str(tmp_path / "missing.txt"))
    with pytest.raises(TypeError, match="takes strings"):
        WordPieceTokenizer(SPECIALS + ["a"])(np.array([1, 2]))


def test_invalid_utf8_is_a_clear_error(vocabulary_file):
    tokenizer = WordPieceTokenizer(vocabulary_file)
    with pytest.raises(tf.errors.InvalidArgumentError, match="not valid UTF-8"):
        tokenizer(tf.constant([b"fine", b"\xff\xfe bad"]))


def test_offsets_point_at_the_original_text(vocabulary_file):
    tokenizer = WordPieceTokenizer(vocabulary_file)
    texts = ["The café, playing!", "  Hello\tworld 你好 "]
    ids, starts, ends = tokenizer.tokenize_with_offsets(texts)
    assert ids.to_list() == tokenizer(texts).to_list()
    pieces = [
        [text.encode()[a:b].decode() for a, b in zip(row_a, row_b)]
        for text, row_a, row_b in zip(texts, starts.to_list(), ends.to_list())
    ]
    assert pieces == [["The", "café", ",", "play", "ing", "!"],
                      ["Hello", "world", "你", "好"]]


def test_offsets_continue_past_a_nul_byte(vocabulary_file):
    tokenizer = WordPieceTokenizer(vocabulary_file)
    text = "Hello\x00world playing"
    ids, starts, ends = tokenizer.tokenize_with_offsets([text])
    pieces = [text.encode()[a:b].decode()
              for a, b in zip(starts.to_list()[0], ends.to_list()[0])]
    assert pieces == ["Hello", "world", "play", "ing"]
    assert len(ids.to_list()[0]) == 4
