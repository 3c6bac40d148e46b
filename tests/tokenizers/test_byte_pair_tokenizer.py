import json
import os
import random
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import transformers

from tfzoo.export.op_check import check_servable
from tfzoo.tokenizers import BytePairTokenizer, train_byte_pair_vocabulary
from tfzoo.tokenizers.byte_pair_tokenizer import (
    byte_token_order,
    bytes_to_unicode,
)

CORPUS = """\
The quick brown fox jumps over the lazy dog. It's 3.14 degrees warmer today
than it was on 12 March 2024, and we've measured 12345 drops since then.
I don't think they'll mind; you're welcome to check, and I'D LIKE IT if
you'd say so. She's here, he'll stay, they've gone.

def tokenize(text):
    # Splits text into words; returns a list.
    return [word.lower() for word in text.split()]  # 100% simple!

Café, naïve, résumé, straße and İstanbul are spelled with accents. Привет,
мир! Γειά σου κόσμε. 你好，世界！東京は晴れです。 안녕하세요.
Emoji: 😀 🎉 👍🏽 👨‍👩‍👧 and flags 🇫🇷 sit between words.

    Indented lines, tabs\tand   runs of spaces   matter too.
Numbers like 1,000,000 and 0.001 or -42 and +7 appear; e-mail me@example.com.
"Quoted," she said -- 'single' quotes... (parentheses) [brackets] {braces}.
<|endoftext|>
A new document starts here. The end.
"""

TRICKY = [
    "",
    " ",
    "   ",
    "hello",
    " hello",
    "  hello",
    "hello  ",
    "a  b   c",
    "\t",
    "tab\there",
    "\t\tx",
    "x\t y",
    "\n",
    "\n\n",
    " \n ",
    "line one\n\nline two\n",
    "\r\n\r\n",
    "don't",
    "I'LL",
    "we've",
    "  'sup  's",
    "It's 12345 and 3.14",
    "1,000,000 -42",
    "Café naïve résumé",
    "e\u0301\u0301",
    "你好，世界！",
    "東京 2024",
    "😀",
    "👨‍👩‍👧 family 🇫🇷",
    "👍🏽👍🏽",
    "!!!???...",
    "--->>> <<<---",
    "me@example.com",
    "a\u00a0b\u3000c\u2028d",
    "x\u000by\u001cz\u0085",
    "<|endoftext|>",
    "a<|endoftext|>b",
    "Hello <|endoftext|>  world",
    "  <|endoftext|>\n",
    "<|endoftext|><|endoftext|>",
    "<|endoftext",
    "end   ",
    "def f(x):\n    return x**2  # square",
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bpe")
    corpus = directory / "corpus.txt"
    corpus.write_text(CORPUS * 3, encoding="utf-8")
    train_byte_pair_vocabulary(str(corpus), 600, output_dir=str(directory),
                               min_frequency=2)
    return str(directory / "vocab.json"), str(directory / "merges.txt")


@pytest.fixture(scope="module")
def tokenizer(files):
    return BytePairTokenizer(*files)


def reference_ids(reference, texts):
    return [reference(text, add_special_tokens=False)["input_ids"]
            for text in texts]


def test_ids_equal_hugging_face_gpt2_tokenizer(files, tokenizer):
    # In transformers 5 `GPT2TokenizerFast` is `GPT2Tokenizer` (Rust
    # tokenizers backed); the pure-Python slow tokenizer no longer exists.
    assert transformers.GPT2TokenizerFast is transformers.GPT2Tokenizer
    reference = transformers.GPT2Tokenizer(vocab=files[0], merges=files[1])
    texts = TRICKY + CORPUS.split("\n") + [CORPUS]
    got = tokenizer(texts).to_list()
    for text, ids, expected in zip(texts, got,
                                   reference_ids(reference, texts)):
        assert ids == expected, (text, ids, expected)


def random_texts(count, seed=0):
    """Random mixes of words, scripts, digits, marks and every kind of
    whitespace (including the ones only Unicode calls whitespace)."""
    pieces = (
        list("abcdefghijklmnopqrstuvwxyzABCDXYZ0123456789") * 2
        + list("'\"!?.,;:-_()[]{}@#$%^&*+=<>/\\|~`") + [" "] * 30
        + list("\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u1680\u2000\u200a\u2028"
               "\u2029\u202f\u205f\u3000\u200b\u200d\u0301\ufeff")
        + list("éüßñøİıΣσЖя你好東京한국ـعربية½²٣Ⅻ𝟘\U00010d40\u1c89")
        + ["😀", "👍🏽", "🇫🇷", "👨\u200d👩\u200d👧", "<|endoftext|>", "'s",
           "'ll", "'RE", "'t", "'d", " the", " tide", "ing", "12345"]
    )
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 24)))
            for _ in range(count)]


def test_random_strings_equal_hugging_face(files, tokenizer):
    texts = random_texts(600)
    gpt2 = transformers.GPT2Tokenizer(vocab=files[0], merges=files[1])
    assert tokenizer(texts).to_list() == reference_ids(gpt2, texts)
    roberta = transformers.RobertaTokenizer(
        vocab=files[0], merges=files[1], add_prefix_space=True
    )
    roberta.add_special_tokens(
        {"additional_special_tokens": ["<|endoftext|>"]}
    )
    prefixed = BytePairTokenizer(*files, add_prefix_space=True)
    assert prefixed(texts).to_list() == reference_ids(roberta, texts)
    assert tokenizer.detokenize(tokenizer(texts)).numpy().tolist() == [
        text.encode("utf-8") for text in texts
    ]


def test_merges_really_happen(files, tokenizer):
    ids = tokenizer(" the quick brown fox").numpy().tolist()
    assert len(ids) < 10  # far fewer than its 20 bytes
    assert tokenizer.id_to_token(ids[0]).startswith("Ġ")


def test_prefix_space_equals_roberta(files):
    tokenizer = BytePairTokenizer(
        *files, add_prefix_space=True, special_tokens=["<|endoftext|>"]
    )
    reference = transformers.RobertaTokenizer(
        vocab=files[0], merges=files[1], add_prefix_space=True
    )
    reference.add_special_tokens(
        {"additional_special_tokens": ["<|endoftext|>"]}
    )
    got = tokenizer(TRICKY).to_list()
    for text, ids, expected in zip(TRICKY, got,
                                   reference_ids(reference, TRICKY)):
        assert ids == expected, (text, ids, expected)


def test_roberta_special_tokens(tmp_path, files):
    vocabulary = json.load(open(files[0], encoding="utf-8"))
    vocabulary.pop("<|endoftext|>")
    roberta = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>"])}
    for token in sorted(vocabulary, key=vocabulary.get):
        roberta[token] = len(roberta)
    roberta["<mask>"] = len(roberta)
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(roberta), encoding="utf-8")
    specials = ["<s>", "</s>", "<pad>", "<mask>", "<unk>"]
    tokenizer = BytePairTokenizer(str(path), files[1], add_prefix_space=True,
                                  special_tokens=specials)
    reference = transformers.RobertaTokenizer(
        vocab=str(path), merges=files[1], add_prefix_space=True
    )
    texts = ["<s>Hello <mask> world</s>", "a</s></s>b<pad>", "<mask>",
             "The <mask> is 3.14 <unk>", "<s >", "a \t\n<mask>b",
             "  <mask>", "x  <mask>  <mask>y"]
    assert tokenizer(texts).to_list() == reference_ids(reference, texts)
    # RoBERTa's tokenizer.json has "<mask>" take the whitespace before it.
    reference.add_special_tokens(
        {"mask_token": transformers.AddedToken("<mask>", lstrip=True)}
    )
    stripping = BytePairTokenizer(str(path), files[1], add_prefix_space=True,
                                  special_tokens=specials,
                                  lstrip_tokens=["<mask>"])
    assert stripping(texts).to_list() == reference_ids(reference, texts)
    assert stripping("a <mask>").numpy().tolist() == [
        stripping.token_to_id("Ġa"), stripping.token_to_id("<mask>")]
    assert tokenizer.special_token_ids["<mask>"] == len(roberta) - 1
    assert tokenizer.end_of_text_id is None


def test_batch_of_mixed_strings_and_scalar(tokenizer, files):
    reference = transformers.GPT2Tokenizer(vocab=files[0], merges=files[1])
    batch = ["", "Hello world", "😀 naïve\n\n", "  x  "]
    assert tokenizer(batch).to_list() == reference_ids(reference, batch)
    scalar = tokenizer("Hello world")
    assert scalar.shape.rank == 1 and scalar.dtype == tf.int32
    assert scalar.numpy().tolist() == reference_ids(reference,
                                                    ["Hello world"])[0]
    ids = tokenizer(batch)
    assert isinstance(ids, tf.RaggedTensor) and ids.dtype == tf.int32


def test_detokenize_inverts_tokenize(tokenizer, files):
    ids = tokenizer(TRICKY)
    assert tokenizer.detokenize(ids).numpy().tolist() == [
        text.encode("utf-8") for text in TRICKY
    ]
    # Dense ids and a single sequence work too.
    dense = tokenizer(["abc"]).to_tensor()
    assert tokenizer.detokenize(dense).numpy().tolist() == [b"abc"]
    assert tokenizer.detokenize(tokenizer("naïve")).numpy() == "naïve".encode()
    # Python lists of uneven rows, even with an empty first row.
    rows = tokenizer(["", "a cat", "hi"]).to_list()
    assert tokenizer.detokenize(rows).numpy().tolist() == [b"", b"a cat",
                                                            b"hi"]


def test_detokenize_replaces_broken_utf8_like_hugging_face(tokenizer, files):
    reference = transformers.GPT2Tokenizer(vocab=files[0], merges=files[1])
    byte_id = tokenizer.token_to_id
    b = bytes_to_unicode()
    emoji = "😀".encode("utf-8")  # four bytes
    cut = [byte_id(b[x]) for x in b"a" + emoji[:3] + b"z"]
    got = tokenizer.detokenize([cut]).numpy()[0].decode("utf-8")
    assert got == reference.decode(cut) == "a\ufffdz"


def test_runs_in_tf_data_and_tf_function(tokenizer):
    eager = tokenizer(TRICKY).to_list()
    dataset = tf.data.Dataset.from_tensor_slices(TRICKY).batch(5).map(
        tokenizer, num_parallel_calls=2
    )
    assert [row for batch in dataset for row in batch.to_list()] == eager
    unbatched = tf.data.Dataset.from_tensor_slices(TRICKY).map(tokenizer)
    assert [ids.numpy().tolist() for ids in unbatched] == eager
    graph = tf.function(lambda t: tokenizer(t).to_tensor(-1))
    assert graph(tf.constant(TRICKY)).numpy().tolist() == (
        tf.ragged.constant(eager).to_tensor(-1).numpy().tolist()
    )


def test_saved_model_runs_without_tfzoo_and_is_servable(tokenizer, tmp_path):
    module = tf.Module()
    module.tokenizer = tokenizer
    module.tokenize = tf.function(
        lambda text: tokenizer(text).to_tensor(-1),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    module.detokenize = tf.function(
        lambda ids: tokenizer.detokenize(ids),
        input_signature=[tf.TensorSpec([None, None], tf.int32)],
    )
    path = str(tmp_path / "tokenizer")
    tf.saved_model.save(module, path)
    check_servable(path)
    texts = TRICKY[:20] + ["Hello <|endoftext|> 😀 don't"]
    script = (
        "import json, sys, tensorflow as tf, tensorflow_text\n"
        "assert 'tfzoo' not in sys.modules\n"
        f"loaded = tf.saved_model.load({path!r})\n"
        f"ids = loaded.tokenize(tf.constant({texts!r}))\n"
        "text = loaded.detokenize(tf.maximum(ids, 0))\n"
        "print(json.dumps([ids.numpy().tolist(),\n"
        "                  [t.decode() for t in text.numpy()]]))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True,
        check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    ).stdout.strip().splitlines()[-1]
    ids, text = json.loads(output)
    assert ids == tokenizer(texts).to_tensor(-1).numpy().tolist()
    # Padding with id 0 ("<|endoftext|>" here) shows in the text; strip it.
    assert [t.replace("<|endoftext|>", "") for t in text] == [
        t.replace("<|endoftext|>", "") for t in texts]


def test_config_and_keras_file_round_trip(tokenizer, tmp_path):
    rebuilt = keras.layers.deserialize(keras.layers.serialize(tokenizer))
    assert rebuilt(TRICKY).to_list() == tokenizer(TRICKY).to_list()
    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, tokenizer(inputs))
    path = str(tmp_path / "tokenizer.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded(tf.constant(TRICKY)).to_list() == tokenizer(TRICKY).to_list()


def test_lookups(tokenizer, files):
    vocabulary = json.load(open(files[0], encoding="utf-8"))
    assert tokenizer.vocabulary_size == len(vocabulary)
    assert tokenizer.end_of_text_id == vocabulary["<|endoftext|>"]
    assert tokenizer.special_token_ids == {
        "<|endoftext|>": vocabulary["<|endoftext|>"]}
    assert tokenizer.id_to_token(tokenizer.token_to_id("Ġthe")) == "Ġthe"
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        tokenizer.token_to_id("zebra")
    with pytest.raises(IndexError, match="outside the vocabulary"):
        tokenizer.id_to_token(10**6)


def test_unused_ids_in_the_vocabulary(files):
    # Some checkpoints' vocab.json skip ids; the size is the largest + 1.
    vocabulary = json.load(open(files[0], encoding="utf-8"))
    moved = {token: i if i < 300 else i + 5
             for token, i in vocabulary.items()}
    tokenizer = BytePairTokenizer(moved, files[1])
    reference = BytePairTokenizer(vocabulary, files[1])
    assert tokenizer.vocabulary_size == len(vocabulary) + 5
    shift = [[i if i < 300 else i + 5 for i in row]
             for row in reference(TRICKY).to_list()]
    assert tokenizer(TRICKY).to_list() == shift
    assert tokenizer.detokenize(tf.ragged.constant(shift)).numpy().tolist(
    ) == [t.encode() for t in TRICKY]
    with pytest.raises(IndexError, match="302 has no token"):
        tokenizer.id_to_token(302)


def test_missing_files_are_clear_errors(files, tmp_path):
    with pytest.raises(FileNotFoundError, match="Vocabulary file.*nope.json"):
        BytePairTokenizer(str(tmp_path / "nope.json"), files[1])
    with pytest.raises(FileNotFoundError, match="Merges file.*nope.txt"):
        BytePairTokenizer(files[0], str(tmp_path / "nope.txt"))


def test_bad_merges_and_vocabularies_are_clear_errors(files):
    vocabulary = json.load(open(files[0], encoding="utf-8"))
    with pytest.raises(ValueError, match=r"Merge 1 \('Ġ zz'\) uses 'zz'"):
        BytePairTokenizer(vocabulary, ["Ġ t", "Ġ zz"])
    with pytest.raises(ValueError, match=r"uses 'qx', which is not in"):
        BytePairTokenizer(vocabulary, ["q x"])
    with pytest.raises(ValueError, match="not two tokens separated"):
        BytePairTokenizer(vocabulary, ["Ġ t h"])
    small = {t: i for i, t in enumerate(byte_token_order()[:200])}
    with pytest.raises(ValueError, match="lacks 56 of the 256 byte tokens"):
        BytePairTokenizer(small, [])
    with pytest.raises(ValueError, match="'Ġt' and 'zzq' the same id"):
        BytePairTokenizer({**vocabulary, "zzq": vocabulary["Ġt"]}, [])
    with pytest.raises(ValueError, match="'zzq' the id -1"):
        BytePairTokenizer({**vocabulary, "zzq": -1}, [])
    with pytest.raises(ValueError, match=r"\['<mask>'\] are not in the voc"):
        BytePairTokenizer(vocabulary, [], special_tokens=["<mask>"])
    with pytest.raises(TypeError, match="takes strings"):
        BytePairTokenizer(vocabulary, [])(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"1-D batch of strings, got shape"):
        BytePairTokenizer(vocabulary, [])(tf.constant([["a"], ["b"]]))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"Token ids must be in \[0, \d+\)"):
        BytePairTokenizer(vocabulary, []).detokenize([[1, -1, 10**6]])


def test_invalid_utf8_is_a_clear_error(tokenizer):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="not valid UTF-8"):
        tokenizer(tf.constant([b"fine", b"\xff\xfe bad"]))
