"""`generate_xla` on the local server: with `--xla_cpu_compilation_enabled`
it answers as `generate` and in-process `generate` do; without it, it is
INTERNAL "XLA compilation disabled" while the other signatures serve."""

import os

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from serving.client import GrpcPredictionClient
from serving.client import RestPredictionClient
from serving.errors import ServingError
from serving.local_server import LocalServer
from serving.server import parse_flags
from serving.xla_signatures import xla_signatures

# Two batches in different prompt-length buckets (16 and 32 tokens).
SHORT_PROMPTS = ["The river", "", "Every summer the shepherds"]
LONG_PROMPTS = ["The river ran past the old mill and the market",
                "Once upon a time a small model"]
NEW_TOKENS = 12


def start(export_path, directory, *flags):
    return LocalServer(
        ["--model_name=writer",
         f"--model_base_path={os.path.dirname(export_path)}", *flags],
        "writer", str(directory / "log"),
    )


@pytest.fixture(scope="module")
def xla_server(text_generator_xla_export, tmp_path_factory):
    directory = tmp_path_factory.mktemp("xla_on")
    with start(text_generator_xla_export, directory,
               "--xla_cpu_compilation_enabled=true") as running:
        yield running


@pytest.fixture(scope="module")
def plain_server(text_generator_xla_export, tmp_path_factory):
    """The same export on a server with TF Serving's default: no XLA."""
    directory = tmp_path_factory.mktemp("xla_off")
    with start(text_generator_xla_export, directory) as running:
        yield running


def inputs(prompts, **values):
    options = dict(max_new_tokens=NEW_TOKENS, temperature=1.0, top_k=1,
                   top_p=1.0, seed=0)
    options.update(values)
    return {"prompt": prompts, **{
        name: np.full(len(prompts), value,
                      "float32" if isinstance(value, float) else "int32")
        for name, value in options.items()
    }}


def generated(outputs):
    """Each row's generated ids (without the -1 padding) and text."""
    ids = [row[:count].tolist() for row, count in zip(
        outputs["generated_token_ids"], outputs["num_generated_tokens"])]
    return ids, [text.decode() if isinstance(text, bytes) else text
                 for text in outputs["generated_text"]]


def test_the_flag_has_tf_servings_name_and_default():
    assert parse_flags(["--model_base_path=/m"]).xla_cpu_compilation_enabled \
        is False
    for flag, value in [("--xla_cpu_compilation_enabled", True),
                        ("--xla_cpu_compilation_enabled=true", True),
                        ("--xla_cpu_compilation_enabled=false", False)]:
        assert parse_flags(["--model_base_path=/m", flag]) \
            .xla_cpu_compilation_enabled is value


def test_only_generate_xla_needs_xla(text_generator_xla_export,
                                     text_generator_export):
    def needing_xla(path):
        proto = saved_model_pb2.SavedModel()
        with open(os.path.join(path, "saved_model.pb"), "rb") as file:
            proto.ParseFromString(file.read())
        return xla_signatures(proto.meta_graphs[0])

    assert needing_xla(text_generator_xla_export) == {"generate_xla"}
    assert needing_xla(text_generator_export) == set()


def test_greedy_generate_xla_equals_generate_and_in_process(
    xla_server, text_generator
):
    tokenizer = text_generator.tokenizer
    lengths = [len(tokenizer.tokenize(p).numpy()) for p in LONG_PROMPTS]
    assert 16 < max(lengths) <= 32  # the second batch's bucket is 32
    with GrpcPredictionClient("writer", port=xla_server.grpc_port) as client:
        for prompts in (SHORT_PROMPTS, LONG_PROMPTS):
            compiled = client.predict(inputs(prompts),
                                      signature_name="generate_xla")
            plain = client.predict(inputs(prompts), signature_name="generate")
            expected = text_generator.generate(prompts,
                                               max_new_tokens=NEW_TOKENS)
            ids, texts = generated(compiled)
            assert (ids, texts) == generated(plain)
            assert [prompt + text for prompt, text in zip(prompts, texts)] \
                == expected
            assert all(len(row) > 0 for row in ids)
            assert [text.decode() for text in tokenizer.detokenize(
                tf.ragged.constant(ids, "int32")).numpy()] == texts


def test_sampling_under_xla_equals_generate(xla_server):
    with GrpcPredictionClient("writer", port=xla_server.grpc_port) as client:
        options = dict(top_k=40, top_p=0.9, seed=7)
        compiled = client.predict(inputs(SHORT_PROMPTS, **options),
                                  signature_name="generate_xla")
        plain = client.predict(inputs(SHORT_PROMPTS, **options),
                               signature_name="generate")
    assert generated(compiled) == generated(plain)


@pytest.mark.parametrize("argument, value, message", [
    ("temperature", 0.0, "temperature must be > 0"),
    ("top_k", 0, "top_k must be >= 1"),
    ("top_p", 1.5, "top_p must be in (0, 1]"),
    ("max_new_tokens", 0, "max_new_tokens must be >= 1"),
    ("max_new_tokens", 100, "exceed the context of 64 tokens"),
])
def test_bad_sampler_arguments_are_invalid_argument_under_xla(
    xla_server, argument, value, message
):
    with GrpcPredictionClient("writer", port=xla_server.grpc_port) as client:
        with pytest.raises(ServingError) as raised:
            client.predict(inputs(SHORT_PROMPTS[:1], **{argument: value}),
                           signature_name="generate_xla")
        assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert message in raised.value.message
        served = client.predict(inputs(SHORT_PROMPTS[:1]),
                                signature_name="generate_xla")
        assert served["num_generated_tokens"][0] >= 1


def test_without_the_flag_generate_xla_is_internal_and_the_rest_serves(
    plain_server, text_generator
):
    expected = text_generator.generate(SHORT_PROMPTS,
                                       max_new_tokens=NEW_TOKENS)
    grpc_client = GrpcPredictionClient("writer", port=plain_server.grpc_port)
    rest_client = RestPredictionClient("writer", url=plain_server.rest_url)
    with grpc_client, rest_client:
        for client in (grpc_client, rest_client):
            with pytest.raises(ServingError) as raised:
                client.predict(inputs(SHORT_PROMPTS),
                               signature_name="generate_xla")
            assert raised.value.code == grpc.StatusCode.INTERNAL
            assert "XLA compilation disabled" in raised.value.message
            assert "--xla_cpu_compilation_enabled" in raised.value.message
        served = grpc_client.predict(inputs(SHORT_PROMPTS),
                                     signature_name="generate")
    texts = generated(served)[1]
    assert [p + t for p, t in zip(SHORT_PROMPTS, texts)] == expected
    assert plain_server.process.poll() is None
