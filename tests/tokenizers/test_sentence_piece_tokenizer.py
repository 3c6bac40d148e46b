import keras
import numpy as np
import pytest
import sentencepiece
import tensorflow as tf

from tests.export.servables import serve
from tfzoo.export import check_servable, export_saved_model
from tfzoo.generation.prompts import PromptBatch
from tfzoo.tokenizers import SentencePieceTokenizer, train_sentence_piece_model


CORPUS = """\
The lighthouse on the northern cape was painted red in 1923.
Every evening the keeper climbed 147 steps to light the lamp.
Fishing boats followed its beam home through fog and rain.
In winter the harbour froze, and children skated between the boats.
The keeper's daughter counted ships: 3 on Monday, 12 on Tuesday.
She wrote their names in a blue notebook with a pencil.
Nobody remembers who built the first stone pier.
Old maps show a wooden jetty where the market square is now.

def count_ships(log):
    total = 0
    for day, ships in log.items():
        total += len(ships)
    return total

Prices at the market: 2.50 for bread, 0.75 for milk, 10 for cheese.
A café near the pier sells crêpes, naïve paintings and jalapeño soup.
Туристы приезжают летом, чтобы увидеть маяк.
灯台は今でも毎晩光っています。
Visitors leave notes: 😀 great view! 🌊🌊 windy... 👍🏽
   Indented lines	and tabs   and runs of spaces keep their shape.
The end of the season comes when the last ferry leaves in October.
"""

TRICKY = [
    "",
    " ",
    "   ",
    "the",
    " the",
    "  the  ",
    "The lighthouse keeper",
    "a  b   c",
    "\t",
    "tab\there",
    "\n",
    "\n\n",
    " \n ",
    "line one\n\nline two\n",
    "\r\n",
    "keeper's daughter",
    "IN WINTER",
    "147 steps, 3.14 and 1,000,000 -42",
    "Café crêpes naïve jalapeño",
    "e\u0301\u0301",
    "灯台は今でも",
    "東京タワー",
    "Привет, маяк!",
    "😀",
    "👍🏽👍🏽 🌊",
    "👨\u200d👩\u200d👧 family 🇳🇴",
    "!!!???...",
    "a\u00a0b\u3000c\u2028d",
    "x\u000by\u001cz\u0085",
    "ﬁne ①",
    "<s> </s> <pad> <unk>",
    "    return total\n",
    "end   ",
]


def train(model_type="unigram", vocabulary_size=450, **options):
    return train_sentence_piece_model(
        CORPUS.splitlines(keepends=True) * 3, vocabulary_size,
        model_type=model_type, **options
    )


@pytest.fixture(scope="module")
def protos():
    return {model_type: train(model_type) for model_type in
            ("unigram", "bpe")}


@pytest.fixture(scope="module")
def tokenizer(protos):
    return SentencePieceTokenizer(protos["unigram"])


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_ids_and_text_equal_the_sentencepiece_package(protos, model_type):
    proto = protos[model_type]
    reference = sentencepiece.SentencePieceProcessor(model_proto=proto)
    tokenizer = SentencePieceTokenizer(proto)
    texts = TRICKY + CORPUS.splitlines() + [CORPUS]
    ids = tokenizer(texts).to_list()
    for text, got in zip(texts, ids):
        assert got == reference.encode(text), text
    # Learned pieces are used: far fewer ids than characters.
    assert len(ids[-1]) < 0.7 * len(CORPUS)
    assert [t.decode("utf-8") for t in tokenizer.detokenize(ids).numpy()] == (
        texts
    )
    assert [reference.decode(row) for row in ids] == texts


def test_a_model_with_sentencepiece_default_normalization(protos):
    # As most published models: NFKC, whitespace clean-up, a space before
    # the text. Ids and decoding still equal the package's.
    proto = train(normalization_rule_name="nmt_nfkc", add_dummy_prefix=True,
                  remove_extra_whitespaces=True)
    reference = sentencepiece.SentencePieceProcessor(model_proto=proto)
    tokenizer = SentencePieceTokenizer(proto)
    ids = tokenizer(TRICKY).to_list()
    assert ids == [reference.encode(text) for text in TRICKY]
    assert tokenizer.detokenize(ids).numpy().tolist() == [
        reference.decode(row).encode("utf-8") for row in ids]
    assert tokenizer.drops_leading_space
    assert tokenizer.detokenize(tokenizer(" the")).numpy() == b"the"
    assert SentencePieceTokenizer(
        train(remove_extra_whitespaces=True)).drops_leading_space
    assert not SentencePieceTokenizer(protos["unigram"]).drops_leading_space
    assert tokenizer.detokenize(tokenizer("ﬁne  ①")).numpy() == b"fine 1"


def test_continuations_keep_their_space_with_a_dummy_prefix_model():
    # Such models decode "▁keeper" alone as "keeper"; the continuation of
    # a text prompt must still start with its space.
    tokenizer = SentencePieceTokenizer(train(add_dummy_prefix=True))
    prompt_ids = tokenizer("The keeper").numpy().tolist()
    row = tokenizer("The keeper keeper keeper").numpy().tolist()
    assert row[:len(prompt_ids)] == prompt_ids
    prompts = PromptBatch.from_inputs("The keeper", tokenizer,
                                      tokenizer.vocabulary_size)
    text = prompts.outputs(np.array([row]), [len(row)], tokenizer)
    assert text == "The keeper keeper keeper"


def test_vocabulary_lookups_equal_the_sentencepiece_package(protos, tokenizer):
    reference = sentencepiece.SentencePieceProcessor(
        model_proto=protos["unigram"])
    assert tokenizer.vocabulary_size == reference.vocab_size() == 450
    assert tokenizer.get_vocabulary() == [
        reference.id_to_piece(i) for i in range(450)]
    assert tokenizer.end_of_text_id == reference.eos_id() == 3
    assert tokenizer.special_token_ids == {
        "<pad>": 0, "<unk>": 1, "<s>": 2, "</s>": 3}
    assert tokenizer.token_to_id("▁the") == reference.piece_to_id("▁the")
    assert tokenizer.id_to_token(tokenizer.token_to_id("▁the")) == "▁the"
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        tokenizer.token_to_id("zebra")
    with pytest.raises(IndexError, match=r"outside the vocabulary \[0, 450\)"):
        tokenizer.id_to_token(450)


def test_end_of_text_follows_the_model():
    without = train(eos_id=-1)
    assert sentencepiece.SentencePieceProcessor(
        model_proto=without).eos_id() == -1
    assert SentencePieceTokenizer(without).end_of_text_id is None
    renamed = train(eos_piece="<|endoftext|>", user_defined_symbols=["<tool>"])
    tokenizer = SentencePieceTokenizer(renamed)
    assert tokenizer.end_of_text_id == 3
    assert tokenizer.id_to_token(3) == "<|endoftext|>"
    # User-defined pieces are kept whole in the text; "</s>"-like control
    # pieces are not (the package never encodes them from text).
    assert tokenizer("a<tool>b").numpy().tolist() == sentencepiece.\
        SentencePieceProcessor(model_proto=renamed).encode("a<tool>b")
    assert tokenizer.token_to_id("<tool>") in tokenizer("a<tool>b").numpy()
    assert "<tool>" in tokenizer.special_token_ids


def test_batch_and_scalar(tokenizer):
    ids = tokenizer(["the keeper", ""])
    assert isinstance(ids, tf.RaggedTensor) and ids.dtype == tf.int32
    assert ids.row_splits.dtype == tf.int64
    scalar = tokenizer("the keeper")
    assert scalar.shape.rank == 1 and scalar.dtype == tf.int32
    assert scalar.numpy().tolist() == ids[0].numpy().tolist()
    assert tokenizer.detokenize(scalar).numpy() == b"the keeper"
    dense = tokenizer(["the keeper"]).to_tensor()
    assert tokenizer.detokenize(dense).numpy().tolist() == [b"the keeper"]
    assert tokenizer.detokenize(tf.zeros([2, 0], tf.int32)).numpy().tolist(
    ) == [b"", b""]
    assert tokenizer.detokenize([]).numpy() == b""
    assert tokenizer.detokenize([[], ids[0].numpy().tolist()]).numpy(
    ).tolist() == [b"", b"the keeper"]


def test_detokenize_cut_bytes_like_the_package(protos, tokenizer):
    reference = sentencepiece.SentencePieceProcessor(
        model_proto=protos["unigram"])
    ids = tokenizer("a🦉z").numpy().tolist()  # an owl: byte pieces
    assert [tokenizer.id_to_token(i) for i in ids[1:5]] == [
        "<0xF0>", "<0x9F>", "<0xA6>", "<0x89>"]
    cut = ids[:4] + ids[5:]
    got = tokenizer.detokenize([cut]).numpy()[0].decode("utf-8")
    assert got == reference.decode(cut) and "\ufffd" in got
    # Control pieces ("<pad>", "</s>") decode to nothing.
    assert tokenizer.detokenize([[0, 3] + ids]).numpy()[0] == "a🦉z".encode()


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
    round_trip = tf.function(lambda t: tokenizer.detokenize(tokenizer(t)))
    assert round_trip(tf.constant(TRICKY)).numpy().tolist() == [
        t.encode("utf-8") for t in TRICKY]


def test_survives_random_seed_resets(tokenizer):
    # `tf.random.set_seed` drops eager kernels, and with them tf-text's
    # SentencePiece resource; eager calls make a new one, graphs own theirs.
    expected = tokenizer(TRICKY).to_list()
    graph = tf.function(lambda t: tokenizer.detokenize(tokenizer(t)))
    dataset = tf.data.Dataset.from_tensor_slices(TRICKY).map(tokenizer)
    graph(tf.constant(TRICKY))
    keras.utils.set_random_seed(5)
    assert tokenizer(TRICKY).to_list() == expected
    assert tokenizer.detokenize(expected).numpy().tolist() == [
        t.encode("utf-8") for t in TRICKY]
    keras.utils.set_random_seed(6)
    assert [ids.tolist() for ids in dataset.as_numpy_iterator()] == expected
    assert graph(tf.constant(TRICKY)).numpy().tolist() == [
        t.encode("utf-8") for t in TRICKY]


def test_config_and_keras_file_round_trip(tokenizer, tmp_path):
    rebuilt = keras.layers.deserialize(keras.layers.serialize(tokenizer))
    assert rebuilt.proto == tokenizer.proto
    assert rebuilt(TRICKY).to_list() == tokenizer(TRICKY).to_list()
    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, tokenizer(inputs))
    path = str(tmp_path / "tokenizer.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded(tf.constant(TRICKY)).to_list() == tokenizer(TRICKY).to_list()


@pytest.fixture(scope="module")
def generator(tokenizer):
    from tfzoo.models import GPTCausalLM

    keras.utils.set_random_seed(3)
    return GPTCausalLM.from_preset(
        "gpt_tiny", vocabulary_size=tokenizer.vocabulary_size,
        num_layers=1, hidden_dim=32, intermediate_dim=64,
        max_sequence_length=32, tokenizer=tokenizer,
    )


def test_gpt_causal_lm_generates_text(generator, tokenizer):
    prompts = ["The keeper", "", "灯台 😀"]
    texts = generator.generate(prompts, max_new_tokens=5, jit_compile=False,
                               stop_token_ids=None)
    ids = generator.generate(
        [tokenizer(p).numpy().tolist() or [tokenizer.end_of_text_id]
         for p in prompts],
        max_new_tokens=5, jit_compile=False, stop_token_ids=None,
    )
    for prompt, text, row in zip(prompts, texts, ids):
        start = len(tokenizer(prompt).numpy()) or 1  # "" starts at "</s>"
        assert len(row) == start + 5
        continuation = tokenizer.detokenize(row[start:]).numpy()
        assert text == prompt + continuation.decode("utf-8")
    one = generator.generate("The keeper", max_new_tokens=3,
                             jit_compile=False)
    assert isinstance(one, str) and one.startswith("The keeper")
    # The tokenizer travels in the task's config.
    rebuilt = type(generator).from_config(generator.get_config())
    assert isinstance(rebuilt.tokenizer, SentencePieceTokenizer)
    assert rebuilt.tokenizer.proto == tokenizer.proto


def test_exported_generator_serves_text_without_tfzoo(generator, tmp_path):
    path = export_saved_model(generator, str(tmp_path / "gpt"),
                              max_new_tokens=4)
    check_servable(path)
    prompts = ["The keeper", "", "Café 😀 at 147"]
    (served,) = serve([(path, "serving_default", {"prompt": prompts})])
    assert served["text"] == generator.generate(
        prompts, max_new_tokens=4, jit_compile=False)
    for prompt, text, generated, ids in zip(
        prompts, served["text"], served["generated_text"],
        served["generated_token_ids"],
    ):
        assert text == prompt + generated
        kept = [i for i in ids if i >= 0]
        assert generated == tokenizer_text(generator.tokenizer, kept)


def tokenizer_text(tokenizer, ids):
    return tokenizer.detokenize(ids).numpy().decode("utf-8")


def test_missing_file_and_non_models_are_clear_errors(tmp_path, protos):
    missing = str(tmp_path / "nope.model")
    with pytest.raises(ValueError, match="model file .*nope.model. not "
                                         "found; pass the path of a `.model`"):
        SentencePieceTokenizer(missing)
    with pytest.raises(FileNotFoundError):  # also a FileNotFoundError
        SentencePieceTokenizer(missing)
    with pytest.raises(ValueError, match="bytes given are not a Sentence"
                                         "Piece model.*Pass a SentencePiece"):
        SentencePieceTokenizer(b"certainly not a model")
    with pytest.raises(ValueError, match="not a SentencePiece model"):
        SentencePieceTokenizer(protos["unigram"][:1000])
    vocab = tmp_path / "spm.vocab"  # the text file spm_train writes too
    vocab.write_text("<pad>\t0\n<unk>\t0\n▁the\t-2.5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"'.*spm.vocab' is not a Sentence"
                                         r"Piece model.*not the `\.vocab`"):
        SentencePieceTokenizer(str(vocab))
    with pytest.raises(TypeError, match="file path or its bytes, got int"):
        SentencePieceTokenizer(7)


def test_bad_inputs_are_clear_errors(tokenizer):
    with pytest.raises(TypeError, match="takes strings"):
        tokenizer(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"1-D batch of strings, got shape"):
        tokenizer(tf.constant([["a"], ["b"]]))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"Token ids must be in \[0, 450\)"):
        tokenizer.detokenize([[1, -1, 10**6]])
    with pytest.raises(TypeError, match="detokenize takes integer ids"):
        tokenizer.detokenize([[1.5, 2.0]])
    with pytest.raises(ValueError, match="one sequence of ids or a batch"):
        tokenizer.detokenize(tf.zeros([1, 2, 3], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="not valid UTF-8"):
        tokenizer(tf.constant([b"fine", b"\xff\xfe bad"]))


def test_served_continuations_keep_the_space_a_dummy_prefix_drops(tmp_path):
    from tfzoo.models import GPTCausalLM

    tokenizer = SentencePieceTokenizer(train(add_dummy_prefix=True))
    vocabulary = tokenizer.get_vocabulary()
    word = next(i for i, piece in enumerate(vocabulary)
                if piece.startswith("\u2581") and len(piece) > 3)
    model = GPTCausalLM.from_preset(
        "gpt_tiny", vocabulary_size=tokenizer.vocabulary_size,
        num_layers=1, hidden_dim=32, intermediate_dim=64,
        max_sequence_length=32, tokenizer=tokenizer,
    )
    # Every hidden state becomes the final norm's bias, whose only
    # positive logit is `word`'s ("\u2581" + letters): greedy decoding
    # repeats that word, which starts with a space.
    embeddings = np.zeros((tokenizer.vocabulary_size, 32), "float32")
    embeddings[word] = 1.0
    model.backbone.token_embedding.embeddings.assign(embeddings)
    model.backbone.final_norm.gamma.assign(np.zeros(32, "float32"))
    model.backbone.final_norm.beta.assign(np.ones(32, "float32"))
    prompts = ["The keeper", "Waves"]
    expected = [prompt + (" " + vocabulary[word][1:]) * 3
                for prompt in prompts]
    assert model.generate(prompts, max_new_tokens=3,
                          jit_compile=False) == expected
    path = export_saved_model(model, str(tmp_path / "gpt"), max_new_tokens=3)
    (served,) = serve([(path, "serving_default", {"prompt": prompts})])
    assert served["text"] == expected
    # Decoded alone, the continuation would lose its first space.
    alone = tokenizer.detokenize([word] * 3).numpy().decode("utf-8")
    assert not alone.startswith(" ")


# Text where T5's sentinels, whitespace clean-up, NFKC and unknown
# characters matter.
T5_CASES = [
    "the keeper <extra_id_0> the lamp", "boats<extra_id_1>home",
    "<extra_id_0> fog and rain <extra_id_99>", "two  spaces", " leading",
    "trailing ", "", "   ", "<extra_id_5><extra_id_3>", "ｆｕｌｌ width 42",
    "tab\tand\nnewline", "Café ﬁ naïve", "😀 unknown Ж", "no <extra_id_100> x",
]


def test_t5_conventions_and_sentinels_equal_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    proto = train_sentence_piece_model(
        CORPUS.splitlines(), 150, model_type="unigram", conventions="t5")
    (tmp_path / "spiece.model").write_bytes(proto)
    (tmp_path / "tokenizer_config.json").write_text(
        '{"tokenizer_class": "T5Tokenizer", "extra_ids": 100}')
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path)
    ours = SentencePieceTokenizer(proto, extra_ids=100)
    assert ours.vocabulary_size == len(theirs) == 250
    assert [ours.id_to_token(i) for i in (0, 1, 2)] == ["<pad>", "</s>",
                                                         "<unk>"]
    assert ours.sentinel_id(0) == 249 and ours.sentinel_id(99) == 150
    assert ours.token_to_id("<extra_id_0>") == 249
    ids = ours(T5_CASES).to_list()
    for text, row in zip(T5_CASES, ids):
        assert row == theirs(text, add_special_tokens=False)["input_ids"], (
            text)
    decoded = [text.decode("utf-8") for text in ours.detokenize(ids).numpy()]
    assert decoded == [theirs.decode(row) for row in ids]
    assert sum(2 in row for row in ids) >= 2  # <unk> was exercised
    # In a graph (tf.data) and after a config round trip, the same.
    restored = SentencePieceTokenizer.from_config(ours.get_config())
    assert restored.extra_ids == 100
    dataset = tf.data.Dataset.from_tensor_slices(T5_CASES).batch(5).map(
        restored)
    assert [row for batch in dataset for row in batch.to_list()] == ids
    with pytest.raises(ValueError, match="extra_id_100> is not one"):
        ours.sentinel_id(100)


def test_checkpoint_tokenizer_takes_extra_ids_from_its_config(tmp_path):
    from tfzoo.convert import load_tokenizer

    proto = train_sentence_piece_model(
        CORPUS.splitlines(), 150, model_type="unigram", conventions="t5")
    (tmp_path / "spiece.model").write_bytes(proto)
    assert load_tokenizer(str(tmp_path)).extra_ids == 100  # T5's default
    (tmp_path / "tokenizer_config.json").write_text(
        '{"tokenizer_class": "T5Tokenizer", "extra_ids": 0}')
    assert load_tokenizer(str(tmp_path)).vocabulary_size == 150
    with pytest.raises(ValueError, match="conventions must be one of"):
        train_sentence_piece_model(["a b"], 10, conventions="bert")
