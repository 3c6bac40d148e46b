"""tfzoo.from_keras_hub: keras-hub models (built here with random weights
and tiny vocabularies, saved with `save_to_preset`) to tfzoo models with
equal outputs, equal token ids on raw text, and a SavedModel that answers
raw text as keras-hub predicts."""

import builtins
import sys

import numpy as np
import pytest
import tensorflow as tf

import tfzoo
from tfzoo.export import export_saved_model

keras_hub = pytest.importorskip("keras_hub")

WORDS = ["the", "a", "film", "was", "good", "bad", "great", "plot", "actor",
         "hello", "world", "cafe", "café", "naive", "un", "##known", "##s",
         "##ing", "play", ",", ".", "!", "?", "'"]
BERT_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
TEXTS = ["The film was GOOD!", "a bad plot, great actors.",
         "Hello world? Unknown playing", "café naïve cafe Zzz",
         "the the the the the the the the the the the the the the"]
PAIRS = (["good film", "Bad plot!"], ["the actor was great", "a"])


def _bert_classifier(tmp_path=None):
    tokenizer = keras_hub.models.BertTokenizer(
        vocabulary=BERT_VOCABULARY, lowercase=True)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=12)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(BERT_VOCABULARY), num_layers=2, num_heads=2,
        hidden_dim=16, intermediate_dim=32, max_sequence_length=16)
    classifier = keras_hub.models.BertTextClassifier(
        backbone, num_classes=3, preprocessor=preprocessor,
        activation=None)
    return classifier


def _bert_inputs():
    return {
        "token_ids": np.array([[2, 7, 9, 3, 0, 0, 0],
                               [2, 12, 13, 3, 20, 21, 3]], "int32"),
        "segment_ids": np.array([[0, 0, 0, 0, 0, 0, 0],
                                 [0, 0, 0, 0, 1, 1, 1]], "int32"),
        "padding_mask": np.array([[1, 1, 1, 1, 0, 0, 0],
                                  [1, 1, 1, 1, 1, 1, 1]], "int32"),
    }


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    classifier = _bert_classifier()
    directory = tmp_path_factory.mktemp("bert_preset")
    classifier.save_to_preset(str(directory))
    return classifier, directory


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)


def test_bert_backbone_from_object_and_preset(bert, tmp_path):
    classifier, _ = bert
    backbone = classifier.backbone
    backbone.save_to_preset(str(tmp_path))
    inputs = _bert_inputs()
    expected = backbone(inputs)
    for source in (backbone, tmp_path):
        converted = tfzoo.from_keras_hub(source)
        assert type(converted) is tfzoo.models.BertBackbone
        outputs = converted(inputs)
        _close(outputs["sequence_output"], expected["sequence_output"])
        _close(outputs["pooled_output"], expected["pooled_output"])


def test_bert_classifier_from_preset_and_object(bert):
    classifier, directory = bert
    inputs = _bert_inputs()
    expected = classifier(inputs)
    for source in (directory, classifier):
        converted = tfzoo.from_keras_hub(source)
        assert type(converted) is tfzoo.models.BertClassifier
        assert converted.num_classes == 3
        _close(converted(inputs), expected)


def test_bert_raw_text_gives_the_same_token_ids(bert):
    classifier, directory = bert
    converted = tfzoo.from_keras_hub(directory)
    for x in (TEXTS, PAIRS):
        ours = converted.preprocessor(x)
        # (keras-hub reads a positional tuple as (x, y).)
        theirs = classifier.preprocessor(x=x)
        for key in ("token_ids", "segment_ids", "padding_mask"):
            np.testing.assert_array_equal(
                np.asarray(ours[key]).astype("int32"),
                np.asarray(theirs[key]).astype("int32"), err_msg=key)
    _close(converted.predict(TEXTS, verbose=0),
           classifier.predict(TEXTS, verbose=0))


def test_bert_classifier_export_answers_raw_text(bert, tmp_path):
    classifier, directory = bert
    converted = tfzoo.from_keras_hub(directory)
    path = export_saved_model(converted, str(tmp_path / "classifier"))
    loaded = tf.saved_model.load(path)
    answer = loaded.signatures["serving_default"](text=tf.constant(TEXTS))
    expected = classifier.predict(TEXTS, verbose=0)
    _close(answer["logits"], expected)
    np.testing.assert_array_equal(answer["label_ids"].numpy(),
                                  expected.argmax(-1))


def _bytes_to_unicode():
    """GPT-2's printable stand-in for every byte."""
    printable = (list(range(ord("!"), ord("~") + 1))
                 + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    characters = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            characters.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, characters)}


def _gpt2_vocabulary():
    merges = ["Ġ t", "h e", "Ġt he", "Ġ a", "i n", "Ġ f", "Ġf i", "Ġfi l",
              "Ġfil m", "Ġ w", "Ġw a", "Ġwa s", "g o", "go o", "goo d",
              "Ġ g", "Ġg o", "Ġgo o", "Ġgoo d", "e l", "el l", "ell o"]
    vocabulary = {}
    for character in _bytes_to_unicode().values():
        vocabulary[character] = len(vocabulary)
    for merge in merges:
        vocabulary[merge.replace(" ", "")] = len(vocabulary)
    vocabulary["<|endoftext|>"] = len(vocabulary)
    return vocabulary, merges


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    vocabulary, merges = _gpt2_vocabulary()
    tokenizer = keras_hub.models.GPT2Tokenizer(vocabulary, merges)
    preprocessor = keras_hub.models.GPT2CausalLMPreprocessor(
        tokenizer, sequence_length=16)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=len(vocabulary), num_layers=2, num_heads=2,
        hidden_dim=16, intermediate_dim=32, max_sequence_length=32)
    causal_lm = keras_hub.models.GPT2CausalLM(backbone, preprocessor)
    directory = tmp_path_factory.mktemp("gpt2_preset")
    causal_lm.save_to_preset(str(directory))
    return causal_lm, directory


GPT_TEXTS = ["the film was good", "Hello, wörld! 123  spaces\tand\nlines",
             "goodgood the<|endoftext|>the", " leading space", "🙂 émoji"]


def _gpt_inputs(vocabulary_size):
    rng = np.random.default_rng(0)
    token_ids = rng.integers(0, vocabulary_size, (2, 9)).astype("int32")
    padding_mask = np.ones((2, 9), "int32")
    padding_mask[0, 5:] = 0
    token_ids[0, 5:] = 0
    return {"token_ids": token_ids, "padding_mask": padding_mask}


def test_gpt2_backbone_and_causal_lm(gpt2, tmp_path):
    causal_lm, directory = gpt2
    backbone = causal_lm.backbone
    backbone.save_to_preset(str(tmp_path))
    inputs = _gpt_inputs(backbone.vocabulary_size)
    for source in (backbone, tmp_path):
        converted = tfzoo.from_keras_hub(source)
        assert type(converted) is tfzoo.models.GPTBackbone
        _close(converted(inputs), backbone(inputs))
    expected = causal_lm(inputs)
    for source in (directory, causal_lm):
        converted = tfzoo.from_keras_hub(source)
        assert type(converted) is tfzoo.models.GPTCausalLM
        _close(converted(inputs), expected)


def test_gpt2_tokenizer_gives_the_same_token_ids(gpt2):
    causal_lm, directory = gpt2
    converted = tfzoo.from_keras_hub(directory)
    theirs = causal_lm.preprocessor.tokenizer(GPT_TEXTS)
    ours = converted.tokenizer(GPT_TEXTS)
    assert ours.to_list() == [np.asarray(t).tolist() for t in theirs]
    # Greedy continuations agree (prompt ids, then the same argmax).
    prompt = np.asarray(ours[0].numpy()[None, :], "int32")
    generated = converted.generate(prompt, max_new_tokens=4)
    ids = list(prompt[0])
    for _ in range(4):
        logits = causal_lm({"token_ids": np.array([ids], "int32"),
                            "padding_mask": np.ones((1, len(ids)), "int32")})
        ids.append(int(np.argmax(np.asarray(logits)[0, -1])))
    assert list(np.asarray(generated).reshape(-1)[-4:]) == ids[-4:]


def test_unsupported_class_names_it_and_the_supported_ones():
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=BERT_VOCABULARY)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(BERT_VOCABULARY), num_layers=1, num_heads=2,
        hidden_dim=8, intermediate_dim=16, max_sequence_length=8)
    masked_lm = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
    for unsupported, name in ((masked_lm, "BertMaskedLM"),
                              (tokenizer, "BertTokenizer")):
        with pytest.raises(NotImplementedError) as error:
            tfzoo.from_keras_hub(unsupported)
        message = str(error.value)
        assert name in message
        for supported in ("BertBackbone", "BertTextClassifier",
                          "GPT2Backbone", "GPT2CausalLM", "T5Backbone",
                          "T5Seq2SeqLM"):
            assert supported in message


def test_without_keras_hub_the_error_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_keras_hub(name, *args, **kwargs):
        if name == "keras_hub" or name.startswith("keras_hub."):
            raise ImportError("No module named 'keras_hub'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "keras_hub")
    monkeypatch.setattr(builtins, "__import__", no_keras_hub)
    with pytest.raises(ImportError, match=r"pip install tfzoo\[keras-hub\]"):
        tfzoo.from_keras_hub("/nonexistent")


T5_SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "a film was good and the plot was bad",
    "hello world, this is a tiny sentence piece model",
    "summarize: the cat sat on the mat",
    "translate English to German: the house is small",
]
T5_TEXTS = ["the quick brown fox", "summarize:  the   cat sat",
            "Hello, wörld! <extra_id_0> zebra", " leading space", ""]


def _t5_inputs(vocabulary_size):
    rng = np.random.default_rng(1)
    inputs = {
        "encoder_token_ids": rng.integers(3, vocabulary_size, (2, 9)),
        "encoder_padding_mask": np.ones((2, 9)),
        "decoder_token_ids": rng.integers(3, vocabulary_size, (2, 6)),
        "decoder_padding_mask": np.ones((2, 6)),
    }
    inputs = {key: value.astype("int32") for key, value in inputs.items()}
    for stack, length in (("encoder", 5), ("decoder", 4)):
        inputs[f"{stack}_token_ids"][0, length:] = 0
        inputs[f"{stack}_padding_mask"][0, length:] = 0
    return inputs


@pytest.fixture(scope="module")
def t5(tmp_path_factory):
    """A T5 v1.1-like keras-hub T5Seq2SeqLM (gated exact GELU, untied
    head) with a SentencePiece model trained here, saved as a preset."""
    proto = tfzoo.tokenizers.train_sentence_piece_model(
        T5_SENTENCES * 8, 48, conventions="t5")
    tokenizer = keras_hub.models.T5Tokenizer(proto=proto)
    preprocessor = keras_hub.models.T5Seq2SeqLMPreprocessor(
        tokenizer, encoder_sequence_length=32, decoder_sequence_length=8)
    backbone = keras_hub.models.T5Backbone(
        vocabulary_size=48, num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=32, activation="gelu", use_gated_activation=True,
        tie_embedding_weights=False)
    # Larger random weights than keras-hub's initializers, so that greedy
    # decoding does not just repeat one token.
    rng = np.random.default_rng(0)
    for weight in backbone.weights:
        weight.assign(rng.normal(0, 0.5, weight.shape).astype("float32"))
    seq2seq_lm = keras_hub.models.T5Seq2SeqLM(backbone, preprocessor)
    directory = tmp_path_factory.mktemp("t5_preset")
    seq2seq_lm.save_to_preset(str(directory))
    return seq2seq_lm, directory


def _close_t5(converted, expected, inputs):
    outputs = converted(inputs)
    for key in ("encoder_sequence_output", "decoder_sequence_output"):
        _close(outputs[key], expected[key])


def test_t5_backbone_and_seq2seq_lm(t5, tmp_path):
    seq2seq_lm, directory = t5
    backbone = seq2seq_lm.backbone
    backbone.save_to_preset(str(tmp_path))
    inputs = _t5_inputs(backbone.vocabulary_size)
    expected = backbone(inputs)
    for source in (backbone, tmp_path):
        converted = tfzoo.from_keras_hub(source)
        assert type(converted) is tfzoo.models.T5Backbone
        assert converted.activation == "gelu"  # keras-hub's exact GELU
        assert converted.lm_head is not None
        _close_t5(converted, expected, inputs)
    # (A T5Seq2SeqLM object converts in the tied test below.)
    converted = tfzoo.from_keras_hub(directory)
    assert type(converted) is tfzoo.models.T5Seq2SeqLM
    _close(converted(inputs), seq2seq_lm(inputs))


def test_t5_tied_relu_head_is_scaled_as_in_keras_hub():
    """T5 1.0's layout: ReLU MLP, a head tied to the embedding (scaled by
    hidden_dim ** -0.5 in both), key_value_dim other than hidden/heads."""
    backbone = keras_hub.models.T5Backbone(
        vocabulary_size=40, num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=24, key_value_dim=4, activation="relu",
        use_gated_activation=False, tie_embedding_weights=True)
    seq2seq_lm = keras_hub.models.T5Seq2SeqLM(backbone, preprocessor=None)
    converted = tfzoo.from_keras_hub(seq2seq_lm)
    assert converted.backbone.lm_head is None
    assert converted.backbone.feed_forward == "mlp"
    inputs = _t5_inputs(40)
    _close_t5(converted.backbone, backbone(inputs), inputs)
    _close(converted(inputs), seq2seq_lm(inputs))


def test_t5_tokenizer_and_greedy_generate_match_keras_hub(t5):
    seq2seq_lm, directory = t5
    converted = tfzoo.from_keras_hub(directory)
    assert converted.tokenizer.extra_ids == 0
    theirs = seq2seq_lm.preprocessor.tokenizer(T5_TEXTS)
    ours = converted.tokenizer(T5_TEXTS)
    assert ours.to_list() == [np.asarray(t).tolist() for t in theirs]
    # Greedy decoding of the same sources (all shorter than keras-hub's
    # encoder_sequence_length, which would cut them): keras-hub's generate
    # packs `source </s>` and decodes from <pad> up to decoder length 8.
    sources = T5_TEXTS[:3]
    seq2seq_lm.compile(sampler="greedy")
    expected = [str(text) for text in
                seq2seq_lm.generate(sources, max_length=8)]
    assert len(set(expected)) == 3
    assert converted.generate(sources, max_new_tokens=7,
                              jit_compile=False) == expected
