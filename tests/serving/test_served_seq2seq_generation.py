"""A T5 model served by the local server (a real process, warmup
replayed) answers greedy and beam-search requests over gRPC and REST as
`generate` does in-process; bad arguments are INVALID_ARGUMENT naming the
input, over both protocols, and the server keeps serving."""

import os

import grpc
import pytest

from serving.client import GrpcPredictionClient
from serving.client import RestPredictionClient
from serving.errors import ServingError
from serving.local_server import LocalServer
from tests.export.test_seq2seq_generate_signatures import IN_PROCESS
from tests.export.test_seq2seq_generate_signatures import SOURCES
from tests.export.test_seq2seq_generate_signatures import generate_inputs


@pytest.fixture(scope="module")
def server(t5_generator_export, tmp_path_factory):
    directory = tmp_path_factory.mktemp("t5_server")
    flags = ["--model_name=translator",
             f"--model_base_path={os.path.dirname(t5_generator_export)}",
             "--enable_model_warmup"]
    with LocalServer(flags, "translator", str(directory / "log")) as running:
        yield running


def clients(server):
    return [GrpcPredictionClient("translator", port=server.grpc_port),
            RestPredictionClient("translator", url=server.rest_url)]


def as_strings(array):
    return [t.decode() if isinstance(t, bytes) else t for t in array]


def test_greedy_and_beams_equal_in_process_generate(server, t5_generator):
    greedy = t5_generator.generate(SOURCES, **IN_PROCESS)
    beams = t5_generator.generate(SOURCES, sampler="beam", num_beams=3,
                                  **IN_PROCESS)
    for client in clients(server):
        with client:
            served = client.predict({"text": SOURCES})
            assert as_strings(served["generated_text"]) == greedy
            served = client.predict(generate_inputs(SOURCES, num_beams=3),
                                    signature_name="generate")
            assert as_strings(served["generated_text"]) == beams
            assert served["generated_token_ids"].shape[0] == len(SOURCES)
            assert (served["scores"] < 0).all()


@pytest.mark.parametrize("argument, message", [
    (dict(num_beams=0), "num_beams must be >= 1"),
    (dict(num_beams=2, top_k=40), "num_beams > 1 (beam search) needs "
                                  "top_k=1"),
    (dict(top_p=1.5), "top_p must be in (0, 1]"),
])
def test_bad_arguments_are_invalid_argument(server, argument, message):
    inputs = generate_inputs(SOURCES[:1], **argument)
    for client in clients(server):
        with client:
            with pytest.raises(ServingError) as raised:
                client.predict(inputs, signature_name="generate")
            assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
            assert message in raised.value.message
            # Still serving.
            assert client.predict({"text": SOURCES[:1]})[
                "generated_text"].shape == (1,)
