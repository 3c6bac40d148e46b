"""Tests for `serving.client_cli`, the `python -m serving.client` command."""

import json
import os
import subprocess
import sys

import numpy as np

from serving.client_cli import main
from serving.local_server import free_port

TEXTS = ["The staff were lovely.", "It broke after a day!"]


def test_command_line_error_is_one_line(capsys):
    port = free_port()
    status = main(["--model", "m", "--port", str(port), "--text", "a",
                   "--timeout", "2"])
    captured = capsys.readouterr()
    assert status == 1 and captured.out == ""
    assert captured.err.startswith("error: UNAVAILABLE: ")
    assert len(captured.err.strip().splitlines()) == 1


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "serving.client", *args],
        capture_output=True, text=True, timeout=300,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )


def test_command_line_against_server(served_classifier):
    name = served_classifier.model_name
    result = run_cli("--model", name, "--protocol", "rest",
                     "--rest_port", str(served_classifier.rest_port),
                     "--text", TEXTS[0], "--text", TEXTS[1], "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    printed = json.loads(result.stdout)
    expected = served_classifier.predict_in_process(TEXTS)
    np.testing.assert_allclose(printed["probabilities"],
                               expected["probabilities"], atol=1e-5)
    result = run_cli("--model", "no_such_model",
                     "--port", str(served_classifier.grpc_port), "--status")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: NOT_FOUND: ")
    assert len(result.stderr.strip().splitlines()) == 1


def imported_modules(importtime_stderr):
    """The modules `python -X importtime` reports importing."""
    return {line.rsplit("|", 1)[1].strip().split(".")[0]
            for line in importtime_stderr.splitlines()
            if line.startswith("import time:")}


def test_rest_calls_run_without_tensorflow(served_classifier):
    result = run_cli_quietly(
        "-X", "importtime", "-m", "serving.client", "--model",
        served_classifier.model_name, "--protocol", "rest", "--rest_port",
        str(served_classifier.rest_port), "--text", TEXTS[0], "--status",
        "--metadata")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "version 1: AVAILABLE" in result.stdout
    assert "signature classify (tensorflow/serving/classify)" in result.stdout
    assert "probabilities: [[" in result.stdout
    modules = imported_modules(result.stderr)
    assert "requests" in modules  # the report works
    assert not {"tensorflow", "tensorflow_serving", "keras"} & modules


def test_grpc_calls_print_no_tensorflow_log_lines():
    result = run_cli_quietly("-m", "serving.client", "--model", "m",
                             "--port", str(free_port()), "--status",
                             "--timeout", "2")
    assert result.returncode == 1
    assert result.stderr.startswith("error: UNAVAILABLE: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def run_cli_quietly(*args):
    """`python args...` with TF_CPP_MIN_LOG_LEVEL unset (the suite sets
    it): the command's own default applies."""
    env = {key: value for key, value in os.environ.items()
           if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True,
        timeout=300, env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
