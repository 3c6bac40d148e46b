"""Tests of `T5Seq2SeqLM`: greedy ids equal to transformers' `generate`,
batched equals alone (greedy and beams), the encoder runs once in one
traced program, one XLA program per source bucket, target bucket and
batch size, seeded sampling, and raw-text training with the
preprocessor (XLA step), then a `.keras` round trip."""

import os
import tempfile

import keras
import numpy as np
import pytest
import torch

from tests.models.t5.hf_t5 import VOCABULARY, hf_model, t5_backbone_from
from tfzoo.models.t5 import T5Backbone, T5Seq2SeqLM
from tfzoo.preprocessing.t5_seq2seq_lm_preprocessor import (
    T5Seq2SeqLMPreprocessor,
)
from tfzoo.tokenizers import SentencePieceTokenizer, train_sentence_piece_model

# Sources of different lengths, each ending in </s> (id 1).
SOURCES = [[5, 9, 13, 22, 40, 7, 1], [30, 31, 1], [44, 12, 60, 2, 8, 1]]
NEW_TOKENS = 8


def until_end(row, end=1):
    row = list(row)
    return row[:row.index(end)] if end in row else row


@pytest.mark.parametrize("v1_1, jit_compile", [(False, True), (True, False)],
                         ids=["t5_xla", "t5_v1_1"])
def test_greedy_equals_transformers_generate(v1_1, jit_compile):
    hf = hf_model(v1_1, seed=5)
    model = T5Seq2SeqLM(t5_backbone_from(hf))
    ours = model.generate(SOURCES, max_new_tokens=NEW_TOKENS,
                          jit_compile=jit_compile)
    width = max(map(len, SOURCES))
    ids = torch.tensor([row + [0] * (width - len(row)) for row in SOURCES])
    mask = torch.tensor([[1] * len(row) + [0] * (width - len(row))
                         for row in SOURCES])
    # No cache on their side: transformers 5.25 sizes the decoder's cache
    # by the encoder's depth (num_layers 2 < num_decoder_layers 3).
    with torch.no_grad():
        theirs = hf.generate(input_ids=ids, attention_mask=mask,
                             max_new_tokens=NEW_TOKENS, do_sample=False,
                             num_beams=1, use_cache=False).numpy()
    assert (theirs[:, 0] == 0).all()  # the decoder start
    expected = [until_end(row[1:]) for row in theirs]
    assert ours == expected
    assert any(len(row) > 2 for row in ours)


@pytest.mark.parametrize("v1_1, length_penalties", [
    (False, (0.0,)), (True, (1.0, 2.0, -1.0))], ids=["t5", "t5_v1_1"])
def test_beam_search_equals_transformers_generate(v1_1, length_penalties):
    hf = hf_model(v1_1, seed=6)
    with torch.no_grad():  # </s> likelier, so beams end at many lengths
        hf.shared.weight[1] *= 4.0
        if v1_1:
            hf.lm_head.weight[1] *= 4.0
    model = T5Seq2SeqLM(t5_backbone_from(hf))
    width = max(map(len, SOURCES))
    ids = torch.tensor([row + [0] * (width - len(row)) for row in SOURCES])
    mask = torch.tensor([[1] * len(row) + [0] * (width - len(row))
                         for row in SOURCES])
    lengths = set()
    for length_penalty in length_penalties:
        ours = model.generate(SOURCES, max_new_tokens=10, sampler="beam",
                              num_beams=4, length_penalty=length_penalty,
                              jit_compile=False)
        with torch.no_grad():
            theirs = hf.generate(
                input_ids=ids, attention_mask=mask, max_new_tokens=10,
                do_sample=False, num_beams=4, length_penalty=length_penalty,
                use_cache=False).numpy()
        expected = [until_end(row[1:]) for row in theirs]
        assert ours == expected, length_penalty
        lengths.update(map(len, expected))
    # Hypotheses that ended early and ones that ran to the limit.
    assert min(lengths) < 10 and max(lengths) == 10


def test_batched_equals_alone_and_encoder_runs_once():
    keras.utils.set_random_seed(6)
    model = T5Seq2SeqLM(T5Backbone(
        VOCABULARY, 1, 2, 16, 32, num_decoder_layers=2, feed_forward="gated",
        activation="gelu_approximate", tie_embedding_weights=False))
    calls = {"encode": 0, "project": 0}
    backbone = model.backbone
    encode, project = backbone.encode, backbone.project_encoder_output

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapper

    backbone.encode = counted("encode", encode)
    backbone.project_encoder_output = counted("project", project)
    settings = [dict(sampler="greedy"), dict(sampler="beam", num_beams=3)]
    for options in settings:
        options = dict(options, stop_token_ids=None, jit_compile=False)
        batched = model.generate(SOURCES, max_new_tokens=NEW_TOKENS,
                                 **options)
        alone = [model.generate(row, max_new_tokens=NEW_TOKENS, **options)
                 for row in SOURCES]
        assert batched == alone, options
        assert all(len(row) == NEW_TOKENS for row in batched)
    # One traced program per sampler setup; in each, the encoder and the
    # cross-attention projection run once, before the decode loop.
    assert model.generate_trace_count == len(settings)
    assert calls == {"encode": len(settings), "project": len(settings)}
    plain = dict(max_new_tokens=NEW_TOKENS, jit_compile=False)
    sampled = model.generate(SOURCES, seed=4, sampler="sample",
                             temperature=2.0, stop_token_ids=None, **plain)
    assert sampled == model.generate(SOURCES, seed=4, sampler="sample",
                                     temperature=2.0, stop_token_ids=None,
                                     **plain)
    assert sampled != model.generate(SOURCES, stop_token_ids=None, **plain)
    # Other input forms reuse the greedy program.
    width = max(map(len, SOURCES))
    as_dict = model.generate(
        {"token_ids": [row + [0] * (width - len(row)) for row in SOURCES],
         "padding_mask": [[1] * len(row) + [0] * (width - len(row))
                          for row in SOURCES]},
        stop_token_ids=None, **plain)
    assert as_dict["token_ids"].tolist() == model.generate(
        SOURCES, stop_token_ids=None, **plain)
    assert as_dict["padding_mask"].all()
    assert model.generate_trace_count == len(settings) + 1  # + sampling


def test_one_xla_program_per_source_bucket_target_bucket_and_batch():
    """Sources of 3 to 14 tokens share the 16-token bucket and 5 to 16 new
    tokens the 16-token target bucket: one traced function, fed one shape
    per batch size (XLA compiles one program per shape). A longer source
    or target, or another batch size, adds exactly one."""
    keras.utils.set_random_seed(7)
    model = T5Seq2SeqLM(T5Backbone(VOCABULARY, 1, 2, 16, 32,
                                   num_decoder_layers=1))
    programs = set()  # (traced function, shape of the padded sources)
    make_function = model._generate_function

    def recording(*args, **kwargs):
        function = make_function(*args, **kwargs)

        def call(source_ids, *rest):
            programs.add((id(function), tuple(source_ids.shape)))
            return function(source_ids, *rest)
        return call

    model._generate_function = recording
    options = dict(jit_compile=True, stop_token_ids=None)
    for sources, new_tokens in [([[5, 6, 1]], 5), ([[7] * 13 + [1]], 16),
                                ([[9] * 8 + [1]], 9)]:
        model.generate(sources, max_new_tokens=new_tokens, **options)
    assert model.generate_trace_count == 1 and len(programs) == 1, programs
    model.generate([[5, 6, 1], [8] * 10 + [1]], max_new_tokens=7, **options)
    assert model.generate_trace_count == 1 and len(programs) == 2
    model.generate([[5] * 20 + [1]], max_new_tokens=7, **options)
    assert model.generate_trace_count == 1 and len(programs) == 3
    model.generate([[5, 6, 1]], max_new_tokens=17, **options)
    assert model.generate_trace_count == 2 and len(programs) == 4
    # Each traced function was traced once, whatever shapes it was fed.
    assert all(function.experimental_get_tracing_count() == 1 for function
               in model._generate_functions.by_key.values())


def test_bad_generate_and_fit_arguments():
    model = T5Seq2SeqLM(T5Backbone(VOCABULARY, 1, 2, 16, 32,
                                   max_sequence_length=16))
    with pytest.raises(ValueError, match=r"got a source of 17 tokens"):
        model.generate([[5] * 16 + [1]], max_new_tokens=4)
    with pytest.raises(ValueError, match=r"max_new_tokens=16\. Shorten"):
        model.generate([[5, 1]], max_new_tokens=16)
    with pytest.raises(ValueError, match="Text prompts need a tokenizer"):
        model.generate("translate: one")
    with pytest.raises(ValueError, match="already pads each batch"):
        model.fit({}, length_buckets=True)


PAIRS = [
    ("translate: one two", "uno dos"),
    ("translate: two three", "dos tres"),
    ("translate: three one", "tres uno"),
    ("translate: three two one", "tres dos uno"),
    ("translate: two", "dos"),
    ("translate: one", "uno"),
]


def t5_tokenizer():
    texts = [text for pair in PAIRS for text in pair] * 4
    return SentencePieceTokenizer(train_sentence_piece_model(
        texts, 300, model_type="bpe", pad_id=0, eos_id=1, unk_id=2,
        bos_id=-1, add_dummy_prefix=True))


def test_fit_on_raw_text_then_generate_the_targets(capsys):
    keras.utils.set_random_seed(0)
    tokenizer = t5_tokenizer()
    preprocessor = T5Seq2SeqLMPreprocessor(
        tokenizer, encoder_sequence_length=32, decoder_sequence_length=16)
    backbone = T5Backbone(tokenizer.vocabulary_size, 1, 2, 64, 128,
                          max_sequence_length=32)
    model = T5Seq2SeqLM(backbone, preprocessor=preprocessor)
    model.compile(learning_rate=5e-3)  # AdamW, warmup and decay; XLA step
    sources, targets = (list(texts) for texts in zip(*PAIRS))
    history = model.fit(sources * 80, targets * 80, batch_size=6,
                        epochs=1, shuffle=False, verbose=0)
    # The epoch's means, from chance (1 / 300) upwards.
    assert history.history["accuracy"][-1] > 0.6
    assert history.history["perplexity"][-1] < 4.0
    assert "cut" not in capsys.readouterr().out
    assert model.generate(sources, max_new_tokens=6,
                          jit_compile=False) == targets
    assert model.generate(sources[0], max_new_tokens=6,
                          jit_compile=False) == targets[0]
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "t5.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    features = preprocessor(sources, targets)[0]
    np.testing.assert_allclose(loaded(features), model(features), atol=1e-5)
    assert loaded.tokenizer.get_config() == tokenizer.get_config()


def test_fit_on_in_memory_features():
    model = T5Seq2SeqLM(T5Backbone(VOCABULARY, 1, 2, 16, 32, dropout=0.1))
    rng = np.random.default_rng(0)
    x = {key: rng.integers(2, VOCABULARY, (8, 16)).astype("int32")
         for key in ("encoder_token_ids", "decoder_token_ids")}
    x.update(encoder_padding_mask=np.ones((8, 16), "int32"),
             decoder_padding_mask=np.ones((8, 16), "int32"))
    labels = rng.integers(2, VOCABULARY, (8, 16)).astype("int32")
    model.compile(jit_compile=False)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, labels, sample_weight=np.ones((8, 16)),
                        batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(not np.array_equal(b, w.numpy()) for b, w in
               zip(before, model.trainable_weights))
    with pytest.raises(ValueError, match=r"T5Seq2SeqLM \(decoder_token_ids"
                                         r"\) got token id 125"):
        model.fit(dict(x, decoder_token_ids=x["decoder_token_ids"] + 62),
                  labels, verbose=0)


def test_fit_reports_the_texts_it_cut(capsys):
    tokenizer = t5_tokenizer()
    preprocessor = T5Seq2SeqLMPreprocessor(
        tokenizer, encoder_sequence_length=4, decoder_sequence_length=3)
    model = T5Seq2SeqLM(T5Backbone(tokenizer.vocabulary_size, 1, 2, 16, 32),
                        preprocessor=preprocessor)
    model.compile(jit_compile=False)
    sources, targets = (list(texts) for texts in zip(*PAIRS))
    model.fit(sources, targets, batch_size=6, epochs=2, verbose=0)
    long_sources = sum(len(ids) > 3 for ids in tokenizer(sources).to_list())
    long_targets = sum(len(ids) > 2 for ids in tokenizer(targets).to_list())
    assert long_sources and long_targets
    assert (f"the preprocessor cuts {long_sources} sources to 4 tokens "
            f"and {long_targets} targets to 3 tokens"
            in capsys.readouterr().out)
