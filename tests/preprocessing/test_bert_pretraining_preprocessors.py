import numpy as np
import pytest
import tensorflow as tf

from tfzoo.data import read_text_corpus, sample_path
from tfzoo.models import BertMaskedLM, BertPretrainer
from tfzoo.preprocessing import (
    BertMaskedLMPreprocessor,
    BertPretrainerPreprocessor,
    make_next_sentence_pairs,
)
from tfzoo.tokenizers import WordPieceTokenizer, train_word_piece_vocabulary


@pytest.fixture(scope="module")
def corpus():
    documents = read_text_corpus(sample_path("pretrain_corpus.txt"))
    sentences = [s for document in documents for s in document]
    tokenizer = WordPieceTokenizer(
        train_word_piece_vocabulary(sentences, 2000)
    )
    return documents, sentences, tokenizer


def test_masked_lm_preprocessor_masks_only_real_tokens(corpus):
    _, sentences, tokenizer = corpus
    layer = BertMaskedLMPreprocessor(tokenizer, sequence_length=32, seed=0)
    x, mask_ids, weights = layer(sentences[:256])
    original = tokenizer.tokenize(sentences[:256])
    positions = x["mask_positions"].numpy()
    for row, ids in enumerate(original.to_list()):
        real = weights.numpy()[row] > 0
        # Masked positions hold real tokens (after [CLS], before [SEP]).
        assert np.all(positions[row][real] >= 1)
        assert np.all(positions[row][real] <= min(len(ids), 30))
        truncated = [tokenizer.cls_token_id] + ids[:30]
        assert [truncated[p] for p in positions[row][real]] == (
            mask_ids.numpy()[row][real].tolist()
        )
    masked_fraction = weights.numpy().sum() / x["padding_mask"].numpy()[
        :, 1:
    ].sum()
    assert 0.1 < masked_fraction < 0.2


def test_pretrainer_preprocessor_feeds_the_model(corpus):
    documents, _, tokenizer = corpus
    pairs = make_next_sentence_pairs(documents, tokenizer, 48, seed=0)
    layer = BertPretrainerPreprocessor(tokenizer, sequence_length=48, seed=0)
    x, y = layer(
        {"first": pairs["first"][:8], "second": pairs["second"][:8]},
        pairs["next_sentence_labels"][:8],
    )
    assert x["token_ids"].shape == (8, 48)
    assert y["next_sentence_labels"].numpy().tolist() == (
        pairs["next_sentence_labels"][:8].tolist()
    )
    model = BertPretrainer.from_preset(
        "bert_tiny", vocabulary_size=tokenizer.vocabulary_size,
        max_sequence_length=48, preprocessor=layer,
    )
    model.compile()
    history = model.fit(
        {"first": pairs["first"][:64], "second": pairs["second"][:64]},
        pairs["next_sentence_labels"][:64], verbose=0,
    )
    assert np.isfinite(history.history["loss"][0])
    with pytest.raises(ValueError, match="'first' and 'second'"):
        layer(["just text"], [1])


def test_masked_lm_fits_from_raw_sentences(corpus):
    _, sentences, tokenizer = corpus
    model = BertMaskedLM.from_preset(
        "bert_tiny", vocabulary_size=tokenizer.vocabulary_size,
        max_sequence_length=32,
        preprocessor=BertMaskedLMPreprocessor(tokenizer, 32, seed=0),
    )
    model.compile()
    history = model.fit(sentences[:128], verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert isinstance(model.predict(sentences[:4], verbose=0), np.ndarray)
