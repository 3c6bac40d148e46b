"""RoBERTa on raw text: BertClassifier.from_pretrained(sequence_length=...)
packs with the checkpoint's own pattern (`<s> A </s></s> B </s>`, `<pad>`,
no segment ids), giving transformers' token ids and logits for the same
text through transformers' own tokenizer."""

import json

import numpy as np
import pytest
import torch
import transformers

import tfzoo
from tests.convert.hf_reference import assert_close_at, save_random_model
from tfzoo.convert import load_tokenizer
from tfzoo.models import BertClassifier
from tfzoo.preprocessing import (
    BertClassifierPreprocessor,
    BertMaskedLMPreprocessor,
    TextEmbedderPreprocessor,
)
from tfzoo.tokenizers import train_byte_pair_vocabulary

CORPUS = [
    "the cat sat on the mat and the dog ran home",
    "a film that is good, and a film that is bad!",
    "Tokenizers shouldn't lose bytes: naïve café 🙂",
] * 10
FIRST = ["the cat sat on the mat", "a good film", "naïve café!"]
SECOND = ["the dog ran home", "that is bad", "Tokenizers 🙂"]
LENGTH = 24


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    directory = tmp_path_factory.mktemp("roberta")
    vocabulary, _ = train_byte_pair_vocabulary(
        CORPUS, 320, special_tokens=("<s>", "<pad>", "</s>", "<unk>",
                                     "<mask>"),
        output_dir=str(directory), min_frequency=2)
    reference = save_random_model(
        "RobertaForSequenceClassification", directory, num_labels=3,
        vocab_size=len(vocabulary), pad_token_id=1, bos_token_id=0,
        eos_token_id=2)
    hf_tokenizer = transformers.RobertaTokenizer(
        str(directory / "vocab.json"), str(directory / "merges.txt"))
    return directory, reference, hf_tokenizer


def reference_logits(reference, encoded):
    with torch.no_grad():
        return reference(
            input_ids=torch.tensor(encoded["input_ids"]),
            attention_mask=torch.tensor(encoded["attention_mask"]),
        ).logits.numpy()


def test_pairs_and_single_texts_equal_transformers(checkpoint):
    directory, reference, hf_tokenizer = checkpoint
    model = tfzoo.from_pretrained(directory, sequence_length=LENGTH,
                                  progress=False)
    assert type(model) is BertClassifier
    packing = model.preprocessor.tokenizer.packing
    assert (packing.start_id, packing.end_id, packing.pad_id,
            packing.pair_start_ids, packing.segment_ids) == (0, 2, 1, (2,),
                                                             False)
    for inputs in [(FIRST, SECOND), FIRST,
                   [" ".join(CORPUS[:3])]]:  # the last is truncated
        if isinstance(inputs, tuple):
            encoded = hf_tokenizer(*inputs, padding="max_length",
                                   max_length=LENGTH)
        else:
            encoded = hf_tokenizer(inputs, padding="max_length",
                                   max_length=LENGTH, truncation=True)
        x = model.preprocessor(inputs)
        np.testing.assert_array_equal(x["token_ids"], encoded["input_ids"])
        np.testing.assert_array_equal(x["padding_mask"],
                                      encoded["attention_mask"])
        assert not np.any(x["segment_ids"])
        assert_close_at(model(x), reference_logits(reference, encoded))
    # The pair pattern, spelled out.
    x = model.preprocessor((["the cat"], ["the dog"]))
    tokens = [model.preprocessor.tokenizer.id_to_token(int(i))
              for i in x["token_ids"][0] if i != 1]
    assert tokens[0] == "<s>" and tokens[-1] == "</s>"
    assert tokens.count("</s>") == 3 and "</s></s>" in "".join(tokens)


def test_the_preprocessor_round_trips_and_fits_on_raw_text(checkpoint):
    directory, _, _ = checkpoint
    preprocessor = BertClassifierPreprocessor(
        load_tokenizer(directory), sequence_length=LENGTH,
        label_names=["a", "b", "c"])
    restored = BertClassifierPreprocessor.from_config(
        json.loads(json.dumps(preprocessor.get_config())))
    np.testing.assert_array_equal(
        restored((FIRST, SECOND))["token_ids"],
        preprocessor((FIRST, SECOND))["token_ids"])
    model = BertClassifier.from_pretrained(
        directory, preprocessor=preprocessor, progress=False)
    # Without XLA: compiling the step costs more than these two steps.
    model.compile(learning_rate=1e-3, jit_compile=False)
    history = model.fit(x=(FIRST, SECOND), y=["a", "b", "c"], batch_size=3,
                        epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_the_embedder_packs_like_transformers_and_masking_is_refused(
        checkpoint):
    directory, _, hf_tokenizer = checkpoint
    tokenizer = load_tokenizer(directory)
    x = TextEmbedderPreprocessor(tokenizer, sequence_length=LENGTH)(FIRST)
    encoded = hf_tokenizer(FIRST, padding="max_length", max_length=LENGTH)
    np.testing.assert_array_equal(x["token_ids"], encoded["input_ids"])
    with pytest.raises(NotImplementedError,
                       match="BertMaskedLMPreprocessor needs a "
                             "WordPieceTokenizer .*masks with"):
        BertMaskedLMPreprocessor(tokenizer, sequence_length=LENGTH)
