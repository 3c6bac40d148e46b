"""gpt_pretrain end to end: train (interrupted, then resumed), held-out
perplexity, sample generations, export, serve with the printed commands."""

import json
import os
import re
import subprocess

import pytest

from serving.client import GrpcPredictionClient
from serving.local_server import LocalServer
from tests.recipes.recipe_runs import (
    NO_XLA,
    ROOT,
    load_recipe,
    printed_query_command,
    run_recipe,
)
from tfzoo.training import latest_checkpoint_state


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Three epochs, then five in the same directory."""
    model_dir = tmp_path_factory.mktemp("gpt") / "run"
    first = run_recipe("gpt_pretrain", "--model_dir", model_dir,
                       "--epochs", 3, *NO_XLA)
    steps_after_first = latest_checkpoint_state(
        model_dir / "checkpoints")["global_step"]
    second = run_recipe("gpt_pretrain", "--model_dir", model_dir,
                        "--epochs", 5, *NO_XLA)
    return model_dir, first.stdout, steps_after_first, second.stdout


def test_an_interrupted_run_resumes_with_its_vocabulary(run):
    model_dir, first, steps, second = run
    assert "training a 800-token BPE vocabulary" in first
    assert "BPE vocabulary" not in second  # the saved one is reused
    steps_per_epoch = steps // 3
    assert f"resuming from ckpt-{steps}" in second
    assert f"this run trained {2 * steps_per_epoch} steps" in second


def test_held_out_perplexity_is_far_below_chance(run):
    model_dir = run[0]
    with open(model_dir / "eval.json") as file:
        results = json.load(file)
    assert results["chance_perplexity"] == 800
    assert results["perplexity"] < 80, results  # a tenth of chance
    with open(model_dir / "history.json") as file:
        history = json.load(file)
    perplexities = [history[str(epoch)]["val_perplexity"]
                    for epoch in range(5)]
    assert perplexities[-1] < perplexities[0] / 3
    # Samples continue their prompts.
    for name in ("greedy", "top_p_0.9"):
        samples = results["samples"][name]
        assert samples[0].startswith("The river")
        assert len(samples[0]) > len("The river")
    with open(model_dir / "curves.png", "rb") as file:
        assert file.read(4) == b"\x89PNG"


def test_the_export_generates_with_the_printed_commands(run, tmp_path):
    model_dir, _, _, stdout = run
    export = re.search(r"exported for TensorFlow Serving: (\S+)", stdout)[1]
    assert export == str(model_dir / "export" / "2")
    serve = re.search(r"python -m serving.server (.+)", stdout)[1]
    flags = [flag for flag in serve.split() if not flag.startswith("--port")
             and not flag.startswith("--rest_api_port")]
    with open(model_dir / "eval.json") as file:
        greedy = json.load(file)["samples"]["greedy"]
    with LocalServer(flags, "gpt", str(tmp_path / "server.log")) as server:
        with GrpcPredictionClient("gpt", port=server.grpc_port,
                                  timeout=60) as client:
            answer = client.predict({"prompt": ["The river"]})
        assert answer["text"].tolist() == greedy[:1]
        query = subprocess.run(
            printed_query_command(stdout, server.grpc_port),
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )
    assert query.returncode == 0, query.stderr
    assert greedy[0] in query.stdout


def test_bad_settings_are_clear_errors(tmp_path):
    recipe = load_recipe("gpt_pretrain")
    with pytest.raises(ValueError, match="--corpus files needs --train_file"):
        recipe.main(["--corpus", "files", "--model_dir", str(tmp_path)])
    with pytest.raises(ValueError, match=r"--eval_fraction must be in"):
        recipe.main(["--eval_fraction", "1.5", "--model_dir", str(tmp_path)])
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match="No documents in"):
        recipe.main(["--train_file", str(empty), "--model_dir",
                     str(tmp_path)])


def test_the_example_config_is_valid(capsys):
    recipe = load_recipe("gpt_pretrain")
    with pytest.raises(SystemExit):
        recipe.main(["--config", os.path.join(ROOT, "recipes", "configs",
                                              "gpt_stdlib.yaml"),
                     "--print_config"])
    assert "corpus: stdlib\n" in capsys.readouterr().out


def test_init_checkpoint_takes_a_hugging_face_directory(text_generator,
                                                        tmp_path):
    import numpy as np

    text_generator.save_pretrained(str(tmp_path / "hf"))
    recipe = load_recipe("gpt_pretrain")
    args = recipe.build_parser().parse_args(
        ["--init_checkpoint", str(tmp_path / "hf")])
    model = recipe.build_model(args, tokenizer=None)
    assert model.tokenizer.vocabulary_size == \
        text_generator.tokenizer.vocabulary_size
    for loaded, saved in zip(model.get_weights(),
                             text_generator.get_weights()):
        np.testing.assert_array_equal(loaded, saved)
    prompt = ["Every summer the"]
    assert model.generate(prompt, max_new_tokens=5) == \
        text_generator.generate(prompt, max_new_tokens=5)
