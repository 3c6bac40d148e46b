"""An exported `T5Seq2SeqLM`: its signatures, ops and warmup records; in a
fresh process without tfzoo, greedy, beam and sampled answers equal
in-process `generate`, rows of a mixed batch equal themselves alone, and
bad arguments fail naming the input."""

import re

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import T5_PAIRS
from tests.export.servables import serve, signature_defs, tensor_specs
from tfzoo.export import check_servable, export_saved_model
from tfzoo.export import read_warmup_file

SOURCES = [source for source, _ in T5_PAIRS] + [""]
NEW_TOKENS = 10
# Served signatures decode in plain TensorFlow; so does `generate` here
# (its XLA programs give the same tokens, but cost a compile each).
IN_PROCESS = dict(max_new_tokens=NEW_TOKENS, jit_compile=False)


def generate_inputs(texts, max_new_tokens=NEW_TOKENS, num_beams=1,
                    temperature=1.0, top_k=1, top_p=1.0, seed=0):
    count = len(texts)
    return {
        "text": texts,
        "max_new_tokens": np.full(count, max_new_tokens, "int32"),
        "num_beams": np.full(count, num_beams, "int32"),
        "temperature": np.full(count, temperature, "float32"),
        "top_k": np.full(count, top_k, "int32"),
        "top_p": np.full(count, top_p, "float32"),
        "seed": np.full(count, seed, "int32"),
    }


def test_signatures_ops_and_warmup(t5_generator_export):
    signatures = signature_defs(t5_generator_export)
    assert set(signatures) == {"serving_default", "generate",
                               "generate_xla", "predict_token_ids"}
    assert set(signatures["serving_default"].inputs) == {"text"}
    assert set(signatures["generate"].inputs) == {
        "text", "max_new_tokens", "num_beams", "temperature", "top_k",
        "top_p", "seed",
    }
    generated = {"generated_text", "generated_token_ids",
                 "num_generated_tokens"}
    assert set(signatures["serving_default"].outputs) == generated
    assert set(signatures["generate"].outputs) == generated | {"scores"}
    assert tensor_specs(signatures["generate"]) == tensor_specs(
        signatures["generate_xla"])
    assert set(signatures["predict_token_ids"].outputs) == {"logits"}
    # No GatherTree; Xla* ops only where XLA compiles (generate_xla).
    check_servable(t5_generator_export)
    logs = read_warmup_file(t5_generator_export)
    # Servers without XLA fail generate_xla, and a failed warmup request
    # fails the load: no warmup record for it.
    assert {log.predict_log.request.model_spec.signature_name
            for log in logs} == set(signatures) - {"generate_xla"}


def test_served_answers_equal_in_process_generate(t5_generator,
                                                  t5_generator_export):
    mixed = generate_inputs(SOURCES[:3])
    mixed["num_beams"] = np.array([3, 1, 2], "int32")
    mixed["top_k"] = np.array([1, 40, 1], "int32")
    mixed["seed"] = np.array([0, 9, 0], "int32")
    mixed["temperature"] = np.array([1.0, 1.5, 1.0], "float32")
    mixed["top_p"] = np.array([1.0, 0.9, 1.0], "float32")
    ids = np.array([[5, 6, 1], [7, 1, 0]], "int32")
    features = {
        "encoder_token_ids": ids, "encoder_padding_mask": (ids > 0) * 1,
        "decoder_token_ids": np.array([[0, 5], [0, 8]], "int32"),
        "decoder_padding_mask": np.ones((2, 2), "int32"),
    }
    (greedy, plain, beams, sampled, mixed, two_beams, logits, greedy_xla,
     beams_xla) = serve([
        (t5_generator_export, "serving_default", {"text": SOURCES}),
        (t5_generator_export, "generate", generate_inputs(SOURCES)),
        (t5_generator_export, "generate",
         generate_inputs(SOURCES, num_beams=3)),
        (t5_generator_export, "generate",
         generate_inputs(SOURCES, top_k=40, top_p=0.9, temperature=1.5,
                         seed=9)),
        (t5_generator_export, "generate", mixed),
        (t5_generator_export, "generate",
         generate_inputs(SOURCES[2:3], num_beams=2)),
        (t5_generator_export, "predict_token_ids", features),
        (t5_generator_export, "generate_xla", generate_inputs(SOURCES)),
        (t5_generator_export, "generate_xla",
         generate_inputs(SOURCES, num_beams=3)),
    ])
    model = t5_generator
    expected_greedy = model.generate(SOURCES, **IN_PROCESS)
    expected_beams = model.generate(SOURCES, sampler="beam", num_beams=3,
                                    **IN_PROCESS)
    assert greedy["generated_text"] == expected_greedy
    assert plain["generated_text"] == expected_greedy
    assert expected_greedy[:4] == [target for _, target in T5_PAIRS]
    assert beams["generated_text"] == expected_beams
    assert greedy_xla["generated_text"] == expected_greedy
    assert beams_xla["generated_text"] == expected_beams
    assert beams_xla["scores"] == pytest.approx(beams["scores"], abs=1e-4)
    assert sampled["generated_text"] == model.generate(
        SOURCES, sampler="sample", top_k=40, top_p=0.9, temperature=1.5,
        seed=9, **IN_PROCESS)
    # Ids, counts and padding agree with the text.
    expected_ids = model.generate(
        [list(row) + [1] for row in
         model.tokenizer.tokenize(SOURCES).to_list()], **IN_PROCESS)
    for outputs in (greedy, plain):
        assert outputs["num_generated_tokens"] == list(map(len,
                                                           expected_ids))
        for row, expected in zip(outputs["generated_token_ids"],
                                 expected_ids):
            assert row == expected + [-1] * (len(row) - len(expected))
    # Scores: the beams' log-probabilities; 0 for rows without beams.
    assert all(score < 0 for score in beams["scores"])
    assert plain["scores"] == [0.0] * len(SOURCES)
    # Each row of a batch mixing beam counts and sampling gets what it
    # gets alone.
    assert mixed["generated_text"] == [
        beams["generated_text"][0], sampled["generated_text"][1],
        two_beams["generated_text"][0],
    ]
    assert mixed["scores"][0] == pytest.approx(beams["scores"][0], abs=1e-5)
    np.testing.assert_allclose(
        logits["logits"], model(features), atol=1e-5)


def test_bad_arguments_name_the_input(t5_generator_export):
    generate = tf.saved_model.load(t5_generator_export).signatures[
        "generate"]
    cases = {
        "num_beams must be >= 1": dict(num_beams=0),
        "num_beams must be <= 16": dict(num_beams=17),
        "num_beams > 1 (beam search) needs top_k=1": dict(num_beams=2,
                                                          top_k=40),
        "top_p must be in (0, 1]": dict(top_p=0.0),
        "temperature must be > 0": dict(temperature=-1.0),
        "max_new_tokens must be >= 1": dict(max_new_tokens=0),
        "max_new_tokens must be < 32": dict(max_new_tokens=32),
    }
    for message, arguments in cases.items():
        inputs = generate_inputs(SOURCES[:1], **arguments)
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=re.escape(message)):
            generate(**{k: tf.constant(v) for k, v in inputs.items()})
    inputs = generate_inputs([" one" * 40])
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"text has more than 32 tokens"):
        generate(**{k: tf.constant(v) for k, v in inputs.items()})


def test_export_needs_a_tokenizer(t5_generator, tmp_path):
    from tfzoo.models import T5Seq2SeqLM

    bare = T5Seq2SeqLM(t5_generator.backbone)
    with pytest.raises(ValueError, match="needs its tokenizer"):
        export_saved_model(bare, str(tmp_path))
    assert not list(tmp_path.iterdir())
