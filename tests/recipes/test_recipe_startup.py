"""Recipes answer --help without TensorFlow, and run without log noise."""

import os
import subprocess
import sys

import pytest

from tests.recipes.recipe_runs import ROOT

RECIPES = ("bert_classify", "bert_ner", "bert_pretrain", "bert_qa",
           "gpt_pretrain", "quickstart", "semantic_search", "t5_pretrain",
           "t5_summarize", "t5_translate")
NOISE = ("absl::InitializeLog", "cudart_stub", "oneDNN", "cuInit",
         "cpu_feature_guard")


def run(*args, **env):
    """Runs `python args...` from the repository root, with
    TF_CPP_MIN_LOG_LEVEL unset unless given (the suite sets it)."""
    environment = {key: value for key, value in os.environ.items()
                   if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT,
                          env={**environment, **env})


def imported_modules(importtime_stderr):
    """The modules `python -X importtime` reports importing."""
    return {line.rsplit("|", 1)[1].strip()
            for line in importtime_stderr.splitlines()
            if line.startswith("import time:")}


def imports_tensorflow(modules):
    return any(name.split(".")[0] in ("tensorflow", "keras")
               for name in modules)


@pytest.mark.parametrize("name", RECIPES)
def test_help_answers_without_importing_tensorflow(name):
    result = run("-X", "importtime", f"recipes/{name}.py", "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout
    modules = imported_modules(result.stderr)
    assert "argparse" in modules  # the report works
    assert not imports_tensorflow(modules)


def test_print_config_answers_without_importing_tensorflow():
    result = run("-X", "importtime", "recipes/gpt_pretrain.py",
                 "--print_config", "--epochs", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "epochs: 2" in result.stdout
    assert not imports_tensorflow(imported_modules(result.stderr))


def test_a_recipe_prints_no_tensorflow_log_lines(tmp_path):
    # Fails after importing TensorFlow and setting up its devices (which
    # logs cuInit's failure without a GPU): only the error is printed.
    result = run("recipes/gpt_pretrain.py", "--model_dir", str(tmp_path),
                 "--vocabulary_dir", str(tmp_path / "missing"))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "strategy:" in result.stdout  # devices were set up
    assert not [word for word in NOISE if word in result.stderr]
    assert result.stderr.startswith("error: ")
    assert "vocab.json not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
