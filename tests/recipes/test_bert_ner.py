"""bert_ner end to end on its defaults: train (interrupted, then resumed),
entity-level evaluation, export, and the local server labelling raw text."""

import json
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
from tfzoo.data import read_conll, sample_path
from tfzoo.metrics import entity_spans
from tfzoo.training import latest_checkpoint_state

STEPS_PER_EPOCH = 11  # 350 sentences, batches of 32


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two epochs under MirroredStrategy with bfloat16 compute (one replica
    on this machine), then the defaults in the same directory."""
    model_dir = tmp_path_factory.mktemp("ner") / "run"
    first = run_recipe("bert_ner", "--model_dir", model_dir, "--epochs", 2,
                       "--strategy", "mirrored",
                       "--precision", "mixed_bfloat16")
    second = run_recipe("bert_ner", "--model_dir", model_dir, *NO_XLA)
    return model_dir, first.stdout, second.stdout


def test_strategy_and_precision_flags(run):
    _, first, second = run
    assert "strategy: MirroredStrategy (1 replica(s)), precision " \
           "mixed_bfloat16" in first
    assert f"this run trained {2 * STEPS_PER_EPOCH} steps" in first
    assert "precision float32" in second


def test_the_second_run_resumes_after_the_first(run):
    model_dir, first, second = run
    assert "(new run)" in first
    done = 2 * STEPS_PER_EPOCH
    assert f"resuming from ckpt-{done} ({done} steps trained" in second
    assert f"this run trained {3 * STEPS_PER_EPOCH} steps" in second
    assert latest_checkpoint_state(model_dir / "checkpoints")[
        "global_step"] == 5 * STEPS_PER_EPOCH


def test_entity_f1_is_well_above_chance(run):
    model_dir, _, stdout = run
    with open(model_dir / "eval.json") as file:
        results = json.load(file)
    # Entities are whole spans: a tagger guessing tags gets almost none.
    assert results["chance_f1"] < 0.05
    assert results["f1"] > max(0.15, 5 * results["chance_f1"]), results
    assert results["precision"] > 0.1 and results["recall"] > 0.1
    assert results["gold"] == sum(
        len(entity_spans(tags))
        for tags in read_conll(sample_path("ner_test.conll"))[1])
    assert set(results["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
    assert printed_value(stdout, "f1") == pytest.approx(results["f1"],
                                                         abs=1e-4)
    with open(model_dir / "curves.png", "rb") as file:
        assert file.read(4) == b"\x89PNG"


def test_the_served_model_labels_raw_text_as_the_recipe_did(run, tmp_path):
    """The served model, given the evaluation sentences as raw text, finds
    the entities the recipe's in-process evaluation predicted, at their
    character offsets."""
    model_dir, _, stdout = run
    with open(model_dir / "predictions.jsonl") as file:
        rows = [json.loads(line) for line in file][:20]
    texts = [" ".join(row["words"]) for row in rows]
    with LocalServer(["--model_name=ner",
                      f"--model_base_path={model_dir / 'export'}"],
                     "ner", str(tmp_path / "server.log")) as server:
        with GrpcPredictionClient("ner", port=server.grpc_port,
                                  timeout=30) as client:
            answer = client.predict({"text": texts})
        query = subprocess.run(
            printed_query_command(stdout, server.grpc_port),
            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert query.returncode == 0, query.stderr
    assert "entity_labels" in query.stdout
    compared = 0
    for number, (row, text) in enumerate(zip(rows, texts)):
        if answer["words"][number][:answer["num_words"][number]].tolist() \
                != row["words"]:
            continue  # the server splits this text into other words
        compared += 1
        expected = [(" ".join(row["words"][first:last + 1]), kind)
                    for kind, first, last in entity_spans(row["predicted"])]
        served = []
        for index in range(answer["num_entities"][number]):
            start = answer["entity_starts"][number][index]
            end = answer["entity_ends"][number][index]
            entity = answer["entity_texts"][number][index]
            assert text[start:end] == entity  # character offsets
            served.append((entity, answer["entity_labels"][number][index]))
        assert served == expected, (text, served, expected)
    assert compared >= 15


def write(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("train_text, eval_text, extra, message", [
    ("Ada B-PER\nmet O\n\nOslo B-LOC\n", "Oslo B-LOC\nis O\nfar B-TIME\n",
     [], r"eval.conll, line 3: tag 'B-TIME' is not in the label set"),
    ("Ada B-PER\nmet O\n\nOslo B-LOC\n", "Oslo B-LOC\n",
     ["--label_names", "O,B-PER,I-PER"],
     r"train.conll, line 4: tag 'B-LOC' is not in the label set"),
    ("Ada B-PER\nmet\n", "Oslo B-LOC\n", [],
     r"train.conll, line 2: 1 column\(s\) in 'met'"),
    ("Ada B-PER\nmet PERSON\n", "Oslo B-LOC\n", [],
     r"train.conll, line 2: tag 'PERSON' is not a BIO tag"),
    ("\n\n", "Oslo B-LOC\n", [], r"train.conll holds no sentences"),
])
def test_bad_data_is_an_error_naming_file_and_line(
        tmp_path, train_text, eval_text, extra, message):
    recipe = load_recipe("bert_ner")
    with pytest.raises(ValueError, match=message):
        recipe.main(["--train_file", write(tmp_path / "train.conll",
                                           train_text),
                     "--eval_file", write(tmp_path / "eval.conll", eval_text),
                     "--model_dir", str(tmp_path / "run"), *extra])


def test_tfds_without_prepared_data_says_how_to_prepare_it(tmp_path):
    result = run_recipe("bert_ner", "--tfds_name", "conll2003",
                        "--data_dir", tmp_path, "--model_dir",
                        tmp_path / "run", check=False)
    assert result.returncode == 2
    assert re.search(r"error: Cannot load TFDS dataset 'conll2003'.*not "
                     r"prepared", result.stderr)
    assert "tfds build conll2003" in result.stderr
    assert "Traceback" not in result.stderr

