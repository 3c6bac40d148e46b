"""Shared pytest setup: quiet TensorFlow, fixed seeds, float32 by default.

Also tiny models of every exported task, with preprocessors, and their
exports. Session-scoped, so test files that share a model build and export
it once. The question answerer is trained to find the one city in a
context.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tfzoo.export import export_saved_model  # noqa: E402
from tfzoo.models import (  # noqa: E402
    BertBackbone,
    BertClassifier,
    BertQuestionAnswerer,
    BertTokenClassifier,
)
from tfzoo.preprocessing import (  # noqa: E402
    BertClassifierPreprocessor,
    BertQuestionAnswererPreprocessor,
    BertTokenClassifierPreprocessor,
)
from tfzoo.tokenizers import (  # noqa: E402
    WordPieceTokenizer,
    train_word_piece_vocabulary,
)


@pytest.fixture(autouse=True)
def fixed_seed_and_float32_policy():
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


CORPUS = [
    "Ada Lovelace met Charles Babbage in London in June.",
    "Grace Hopper worked in New York and visited Oslo.",
    "The cat sat on the mat, and the dog ran to the park!",
    "Who wrote the first program? Ada wrote it for the engine.",
    "A café in Paris serves naïve art; 東京 is far away.",
]
ENTITY_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
CITIES = ["London", "Oslo", "Paris"]
CITY_QUESTION = "Which city?"


def tiny_backbone(vocabulary_size, sequence_length):
    return BertBackbone(
        vocabulary_size=vocabulary_size, num_layers=1, num_heads=2,
        hidden_dim=32, intermediate_dim=64,
        max_sequence_length=sequence_length, dropout=0.0,
    )


@pytest.fixture(scope="session")
def tokenizer():
    return WordPieceTokenizer(
        train_word_piece_vocabulary(CORPUS * 3, 300, min_count=1)
    )


@pytest.fixture(scope="session")
def token_classifier(tokenizer):
    keras.utils.set_random_seed(7)
    preprocessor = BertTokenClassifierPreprocessor(
        tokenizer, sequence_length=16, label_names=ENTITY_LABELS
    )
    return BertTokenClassifier(
        tiny_backbone(tokenizer.vocabulary_size, 16),
        num_classes=len(ENTITY_LABELS), preprocessor=preprocessor,
    )


def city_questions(tokenizer, count, seed=0):
    """Contexts of 3 to 13 vocabulary words, one of them a city: the
    answer to `CITY_QUESTION`."""
    cities = {city.lower() for city in CITIES}
    words = [
        token for token in tokenizer.get_vocabulary()
        if token not in tokenizer.special_tokens + list(cities)
        and not token.startswith("##")
    ]
    rng = np.random.default_rng(seed)
    x = {"question": [CITY_QUESTION] * count, "context": []}
    y = {"answer_start": [], "answer_text": []}
    for _ in range(count):
        context = list(rng.choice(words, rng.integers(2, 13)))
        position = int(rng.integers(0, len(context) + 1))
        city = str(rng.choice(CITIES))
        before = " ".join(context[:position])
        x["context"].append(" ".join(context[:position] + [city]
                                     + context[position:]))
        y["answer_start"].append(len(before) + (1 if before else 0))
        y["answer_text"].append(city)
    return x, y


@pytest.fixture(scope="session")
def question_answerer(tokenizer):
    keras.utils.set_random_seed(7)
    preprocessor = BertQuestionAnswererPreprocessor(
        tokenizer, sequence_length=24, doc_stride=6
    )
    model = BertQuestionAnswerer(
        tiny_backbone(tokenizer.vocabulary_size, 24),
        preprocessor=preprocessor,
    )
    model.compile(learning_rate=3e-3, jit_compile=False)
    model.fit(*city_questions(tokenizer, 384), epochs=3, batch_size=32,
              verbose=0)
    return model


@pytest.fixture(scope="session")
def pair_classifier(tokenizer):
    keras.utils.set_random_seed(7)
    preprocessor = BertClassifierPreprocessor(
        tokenizer, sequence_length=16, label_names=["different", "same"]
    )
    return BertClassifier(
        tiny_backbone(tokenizer.vocabulary_size, 16),
        preprocessor=preprocessor,
    )


@pytest.fixture(scope="session")
def token_classifier_export(token_classifier, tmp_path_factory):
    return export_saved_model(
        token_classifier, str(tmp_path_factory.mktemp("token_classifier"))
    )


@pytest.fixture(scope="session")
def question_answerer_export(question_answerer, tmp_path_factory):
    return export_saved_model(
        question_answerer, str(tmp_path_factory.mktemp("question_answerer"))
    )


@pytest.fixture(scope="session")
def pair_classifier_export(pair_classifier, tmp_path_factory):
    return export_saved_model(
        pair_classifier, str(tmp_path_factory.mktemp("pair_classifier")),
        text_pair=True,
    )


@pytest.fixture(scope="session")
def text_generator():
    """A small GPTCausalLM with a BPE tokenizer trained on the bundled
    corpus, briefly trained so that its generations are not all noise."""
    from tfzoo.data import read_text_corpus, sample_path
    from tfzoo.models import GPTCausalLM
    from tfzoo.preprocessing import packed_dataset
    from tfzoo.tokenizers import BytePairTokenizer
    from tfzoo.tokenizers import train_byte_pair_vocabulary

    texts = [" ".join(document) for document in
             read_text_corpus(sample_path("pretrain_corpus.txt"))]
    vocabulary, merges = train_byte_pair_vocabulary(texts, 400)
    tokenizer = BytePairTokenizer(vocabulary=vocabulary, merges=merges)
    model = GPTCausalLM.from_preset(
        "gpt_tiny", vocabulary_size=tokenizer.vocabulary_size,
        num_layers=1, hidden_dim=64, intermediate_dim=128,
        max_sequence_length=64, tokenizer=tokenizer,
    )
    model.compile(learning_rate=3e-3)
    model.fit(packed_dataset(texts, tokenizer, 32, 32), epochs=1, verbose=0)
    return model


@pytest.fixture(scope="session")
def text_generator_export(text_generator, tmp_path_factory):
    return export_saved_model(
        text_generator, str(tmp_path_factory.mktemp("text_generator")),
        max_new_tokens=12,
    )


@pytest.fixture(scope="session")
def text_generator_xla_export(text_generator, tmp_path_factory):
    """`text_generator_export` plus the XLA-compiled `generate_xla`."""
    return export_saved_model(
        text_generator, str(tmp_path_factory.mktemp("text_generator_xla")),
        max_new_tokens=12, xla_generate=True,
    )


# Source and target sentences of the T5 fixtures (the tokenizer's corpus).
T5_PAIRS = [
    ("translate: one two", "uno dos"),
    ("translate: two three", "dos tres"),
    ("translate: three one", "tres uno"),
    ("summarize: the river", "river"),
]


@pytest.fixture(scope="session")
def t5_generator():
    """A tiny `T5Seq2SeqLM` (32-token context) with a T5-style
    SentencePiece tokenizer trained here (<pad> 0, </s> 1, <unk> 2),
    trained briefly on `T5_PAIRS` so that it writes words and stops."""
    from tfzoo.models import T5Seq2SeqLM
    from tfzoo.preprocessing import T5Seq2SeqLMPreprocessor
    from tfzoo.tokenizers import SentencePieceTokenizer
    from tfzoo.tokenizers import train_sentence_piece_model

    texts = [text for pair in T5_PAIRS for text in pair] * 4
    tokenizer = SentencePieceTokenizer(train_sentence_piece_model(
        texts, 300, model_type="bpe", pad_id=0, eos_id=1, unk_id=2,
        bos_id=-1, add_dummy_prefix=True))
    keras.utils.set_random_seed(7)
    model = T5Seq2SeqLM.from_preset(
        "t5_tiny", vocabulary_size=tokenizer.vocabulary_size, num_layers=1,
        max_sequence_length=32,
        preprocessor=T5Seq2SeqLMPreprocessor(
            tokenizer, encoder_sequence_length=24,
            decoder_sequence_length=8),
    )
    model.compile(learning_rate=5e-3, jit_compile=False)
    sources, targets = (list(texts) for texts in zip(*T5_PAIRS))
    model.fit(sources * 30, targets * 30, batch_size=8, epochs=1,
              shuffle=False, verbose=0)
    return model


@pytest.fixture(scope="session")
def t5_generator_export(t5_generator, tmp_path_factory):
    return export_saved_model(
        t5_generator, str(tmp_path_factory.mktemp("t5_generator")),
        max_new_tokens=10, xla_generate=True,
    )
