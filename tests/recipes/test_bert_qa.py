"""bert_qa end to end on its defaults: train (interrupted, then resumed),
SQuAD exact match and F1, export, and the local server answering raw
questions about raw contexts."""

import json
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
from tfzoo.data import sample_path
from tfzoo.training import latest_checkpoint_state


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One epoch, then the defaults; the training file is the bundled one
    plus a question whose answer is not in its context."""
    directory = tmp_path_factory.mktemp("qa")
    with open(sample_path("qa_train.json")) as file:
        data = json.load(file)
    data["data"][0]["paragraphs"][0]["qas"].append({
        "id": "not-in-context", "question": "Which sea is the lake in?",
        "answers": [{"text": "the Tolla Sea", "answer_start": 3}]})
    train_file = directory / "train.json"
    train_file.write_text(json.dumps(data))
    model_dir = directory / "run"
    args = ["--model_dir", model_dir, "--train_file", train_file, *NO_XLA]
    first = run_recipe("bert_qa", *args, "--epochs", 1)
    after_first = latest_checkpoint_state(model_dir / "checkpoints")
    second = run_recipe("bert_qa", *args)
    return model_dir, first.stdout, after_first, second.stdout


def test_the_second_run_resumes_after_the_first(run):
    model_dir, first, after_first, second = run
    assert "(new run)" in first
    steps = after_first["global_step"]
    assert after_first["epoch"] == 0 and steps == after_first[
        "steps_per_epoch"]
    assert f"resuming from ckpt-{steps} ({steps} steps trained" in second
    final = latest_checkpoint_state(model_dir / "checkpoints")
    assert final["global_step"] == 15 * steps
    assert f"this run trained {14 * steps} steps" in second


def test_exact_match_and_f1_are_well_above_chance(run):
    model_dir, _, _, stdout = run
    with open(model_dir / "eval.json") as file:
        results = json.load(file)
    assert results["num_questions"] == 45
    # Random spans of the gold answers' length score a few percent. A
    # bert_tiny trained from scratch on 180 questions finds the right
    # region of the context more often than it gets the exact span: F1 is
    # well above chance, exact match only at or above it.
    assert results["chance_f1"] < 0.1
    assert results["f1"] > max(0.1, 2 * results["chance_f1"]), results
    assert results["exact_match"] >= results["chance_exact_match"], results
    assert printed_value(stdout, "f1") == pytest.approx(results["f1"],
                                                         abs=1e-4)


def test_an_answer_outside_its_context_is_a_counted_skip(run):
    model_dir, _, _, stdout = run
    with open(model_dir / "eval.json") as file:
        assert json.load(file)["skipped_questions"] == 1
    report = stdout.split("skipped while reading:", 1)[1]
    assert "train.json: kept 180, skipped 1" in report
    assert ("id not-in-context: answer 0 'the Tolla Sea' is not at "
            "answer_start 3 and is not found in the context") in report


def test_the_served_model_answers_raw_questions_as_the_recipe_did(
        run, tmp_path):
    model_dir, _, _, stdout = run
    with open(model_dir / "predictions.jsonl") as file:
        rows = {row["id"]: row for row in map(json.loads, file)}
    with open(sample_path("qa_test.json")) as file:
        articles = json.load(file)["data"][:4]
    questions, contexts, ids = [], [], []
    for article in articles:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                questions.append(qa["question"])
                contexts.append(paragraph["context"])
                ids.append(qa["id"])
    with LocalServer(["--model_name=qa",
                      f"--model_base_path={model_dir / 'export'}"],
                     "qa", str(tmp_path / "server.log")) as server:
        with GrpcPredictionClient("qa", port=server.grpc_port,
                                  timeout=30) as client:
            answer = client.predict({"question": questions,
                                     "context": contexts})
        query = subprocess.run(
            printed_query_command(stdout, server.grpc_port),
            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert query.returncode == 0, query.stderr
    assert "answer_text" in query.stdout
    for index, question_id in enumerate(ids):
        text = answer["answer_text"][index]
        start, end = answer["answer_start"][index], answer["answer_end"][index]
        assert text and contexts[index][start:end] == text
        assert (text, start) == (rows[question_id]["predicted"],
                                 rows[question_id]["answer_start"])


def write(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("content, message", [
    ("", r"train.json: invalid JSON \(Expecting value at line 1"),
    ('{"data": [{"paragraphs": [{"context": "Ada won.", "qas": '
     '[{"id": "1", "answers": []}]}]}]}',
     r"train.json, article 0, paragraph 0, question 0 \(id '1'\): missing "
     r"key 'question'"),
    ('{"data": [{"paragraphs": [{"context": "Ada won.", "qas": '
     '[{"id": "1", "question": "Who won?", "answers": '
     '[{"text": "Bea", "answer_start": 0}]}]}]}]}',
     r"train.json: no answerable questions left \(1 skipped; the first: "
     r"answer 0 'Bea' is not at answer_start 0 and is not found in the "
     r"context\)"),
])
def test_bad_data_is_a_clear_error(tmp_path, content, message):
    recipe = load_recipe("bert_qa")
    with pytest.raises(ValueError, match=message):
        recipe.main(["--train_file", write(tmp_path / "train.json", content),
                     "--model_dir", str(tmp_path / "run")])
