import re

import numpy as np
import pytest
import tensorflow as tf

from tensorflow.core.protobuf import saved_model_pb2

from tests.export.servables import serve, signature_defs, tensor_specs
from tfzoo.export import check_servable, read_warmup_file
from tfzoo.export import export_saved_model
from tfzoo.export.op_check import xla_compiled_functions

PROMPTS = ["The river", "", "Every summer the shepherds of the valley"]


def generate_inputs(prompts, max_new_tokens=12, temperature=1.0, top_k=1,
                    top_p=1.0, seed=0):
    count = len(prompts)
    return {
        "prompt": prompts,
        "max_new_tokens": np.full(count, max_new_tokens, "int32"),
        "temperature": np.full(count, temperature, "float32"),
        "top_k": np.full(count, top_k, "int32"),
        "top_p": np.full(count, top_p, "float32"),
        "seed": np.full(count, seed, "int32"),
    }


def test_signatures_take_prompts_and_use_only_servable_ops(
    text_generator_export
):
    signatures = signature_defs(text_generator_export)
    assert set(signatures) == {"serving_default", "generate"}
    assert set(signatures["serving_default"].inputs) == {"prompt"}
    assert set(signatures["generate"].inputs) == {
        "prompt", "max_new_tokens", "temperature", "top_k", "top_p", "seed"
    }
    for signature in signatures.values():
        assert set(signature.outputs) == {
            "generated_text", "text", "generated_token_ids",
            "num_generated_tokens",
        }
    check_servable(text_generator_export)
    logs = read_warmup_file(text_generator_export)
    assert {log.predict_log.request.model_spec.signature_name
            for log in logs} == {"serving_default", "generate"}


def test_xla_generate_is_generate_compiled_and_passes_the_op_check(
    text_generator_xla_export
):
    signatures = signature_defs(text_generator_xla_export)
    assert set(signatures) == {"serving_default", "generate", "generate_xla"}
    assert tensor_specs(signatures["generate"]) == tensor_specs(
        signatures["generate_xla"])
    check_servable(text_generator_xla_export)
    # XLA's cache writes are there, but only where XLA compiles them.
    proto = saved_model_pb2.SavedModel()
    with open(f"{text_generator_xla_export}/saved_model.pb", "rb") as file:
        proto.ParseFromString(file.read())
    graph_def = proto.meta_graphs[0].graph_def
    compiled = xla_compiled_functions(graph_def)
    holders = {
        function.signature.name for function in graph_def.library.function
        if any(node.op == "XlaDynamicUpdateSlice"
               for node in function.node_def)
    }
    assert holders and holders <= compiled
    # A failed warmup request fails a load in TF Serving, and servers
    # without XLA fail generate_xla: so it has no warmup record.
    logs = read_warmup_file(text_generator_xla_export)
    assert {log.predict_log.request.model_spec.signature_name
            for log in logs} == {"serving_default", "generate"}


def test_xla_export_is_for_gpt_only(pair_classifier, tmp_path):
    with pytest.raises(ValueError, match=r"xla_generate is for generator "
                       r"tasks, not BertClassifier \(a classifier\)"):
        export_saved_model(pair_classifier, str(tmp_path), xla_generate=True)


def test_served_generation_equals_in_process_generate(
    text_generator, text_generator_export
):
    greedy, sampled, limited = serve([
        (text_generator_export, "serving_default", {"prompt": PROMPTS}),
        (text_generator_export, "generate",
         generate_inputs(PROMPTS, top_k=40, top_p=0.95, seed=5)),
        (text_generator_export, "generate",
         generate_inputs(PROMPTS[:1], max_new_tokens=3)),
    ])
    assert greedy["text"] == text_generator.generate(
        PROMPTS, max_new_tokens=12)
    assert sampled["text"] == text_generator.generate(
        PROMPTS, max_new_tokens=12, sampler="sample", top_k=40, top_p=0.95,
        seed=5)
    # top_k=1 is greedy; max_new_tokens bounds the continuation.
    assert limited["text"] == text_generator.generate(
        PROMPTS[:1], max_new_tokens=3)
    assert limited["num_generated_tokens"] == [3]
    for outputs in (greedy, sampled):
        for prompt, text, generated in zip(
            PROMPTS, outputs["text"], outputs["generated_text"]
        ):
            assert text == prompt + generated
        counts = outputs["num_generated_tokens"]
        for row, count in zip(outputs["generated_token_ids"], counts):
            assert all(t >= 0 for t in row[:count])
            assert all(t == -1 for t in row[count:])


def test_seeds_are_per_row(text_generator_export):
    alone, batched = serve([
        (text_generator_export, "generate",
         generate_inputs(PROMPTS[:1], top_k=400, seed=11)),
        (text_generator_export, "generate", {
            **generate_inputs(PROMPTS[:1] * 3, top_k=400, seed=11),
            "seed": np.array([11, 12, 13], "int32"),
        }),
    ])
    assert batched["text"][0] == alone["text"][0]
    assert len(set(batched["text"])) > 1


def test_bad_sampler_arguments_fail_with_clear_messages(
    text_generator_export
):
    loaded = tf.saved_model.load(text_generator_export)
    generate = loaded.signatures["generate"]
    cases = {
        "temperature must be > 0": dict(temperature=0.0),
        "top_k must be >= 1": dict(top_k=0),
        "top_p must be in (0, 1]": dict(top_p=1.5),
        "max_new_tokens must be >= 1": dict(max_new_tokens=0),
        "exceed the context of 64 tokens": dict(max_new_tokens=60),
    }
    for message, arguments in cases.items():
        inputs = generate_inputs(["Every summer the shepherds"], **arguments)
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(message)):
            generate(**{k: tf.constant(v) for k, v in inputs.items()})


def test_export_needs_a_tokenizer(text_generator, tmp_path):
    from tfzoo.models import GPTCausalLM

    bare = GPTCausalLM(text_generator.backbone)
    with pytest.raises(ValueError, match="needs its tokenizer"):
        export_saved_model(bare, str(tmp_path))
    assert not list(tmp_path.iterdir())
