"""semantic_search end to end on the bundled help-centre data, with a tiny
model from scratch: one shared run (train, evaluate before and after,
export with the `search` signature), then what a user sees: better
retrieval than the untrained start and than BM25 on the held-out queries,
a served `search` that answers as the recipe's own evaluation ranked, and
the printed query command; plus errors for bad input."""

import json
import os
import re
import subprocess

import numpy as np
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
from tfzoo.recipes.bm25 import BM25
from tfzoo.training import latest_checkpoint_state

EPOCHS = 6
STEPS_PER_EPOCH = 4  # 156 paraphrases and 60 training queries, batch 64


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("semantic_search") / "run"
    result = run_recipe("semantic_search", "--model_dir", model_dir,
                        "--epochs", EPOCHS, "--batch_size", 64,
                        "--learning_rate", 2e-3, "--sequence_length", 48,
                        *NO_XLA)
    with open(model_dir / "eval.json") as file:
        results = json.load(file)
    return model_dir, result.stdout, results


def test_retrieval_improves_over_the_untrained_start_and_bm25(run):
    _, stdout, results = run
    before = results["before"]["retrieval"]
    after = results["after"]["retrieval"]
    bm25 = results["bm25"]["retrieval"]
    assert results["num_eval_queries"] == 60
    assert results["corpus_size"] == 300
    assert results["num_training_pairs"] == 216
    # Measured: recall@10 0.17 -> 0.82, MRR@10 0.07 -> 0.58 (BM25 0.23,
    # 0.10).
    assert after["recall@10"] > before["recall@10"] + 0.25, results
    assert after["mrr@10"] > before["mrr@10"] + 0.2, results
    assert after["recall@10"] > bm25["recall@10"] + 0.2, results
    assert after["ndcg@10"] > bm25["ndcg@10"], results
    assert bm25["recall@10"] == pytest.approx(0.2333, abs=1e-4)
    assert printed_value(stdout, "after.retrieval.recall@10") == \
        pytest.approx(after["recall@10"], abs=1e-4)
    # Sentence similarity: the trained cosines rank the held-out pairs'
    # gold scores better than the untrained ones.
    assert results["after"]["sts"]["spearman"] > \
        results["before"]["sts"]["spearman"] + 0.4, results


def test_run_directory_checkpoints_curves_and_logs(run):
    model_dir, stdout, _ = run
    assert "(new run)" in stdout
    assert latest_checkpoint_state(model_dir / "checkpoints")[
        "global_step"] == EPOCHS * STEPS_PER_EPOCH
    with open(model_dir / "curves.png", "rb") as file:
        assert file.read(4) == b"\x89PNG"
    with open(model_dir / "history.json") as file:
        history = json.load(file)
    assert len(history) == EPOCHS
    assert history[str(EPOCHS - 1)]["val_loss"] < history["0"]["val_loss"]
    for split in ("train", "validation"):
        events = os.listdir(model_dir / "logs" / split)
        assert any(name.startswith("events.out.tfevents") for name in events)


def test_the_export_serves_search_with_the_printed_commands(run, tmp_path):
    model_dir, stdout, _ = run
    export = re.search(r"exported for TensorFlow Serving: (\S+)", stdout)[1]
    assert export == str(model_dir / "export" / "1")
    serve = re.search(r"python -m serving.server (.+)", stdout)[1]
    flags = [flag for flag in serve.split() if not flag.startswith("--port")
             and not flag.startswith("--rest_api_port")]
    with open(model_dir / "predictions.jsonl") as file:
        rows = [json.loads(line) for line in file][:8]
    with LocalServer(flags, "search", str(tmp_path / "server.log")) as server:
        with GrpcPredictionClient("search", port=server.grpc_port,
                                  timeout=60) as client:
            answer = client.predict(
                {"query": [row["query"] for row in rows],
                 "top_k": np.array([5] * len(rows), "int32")},
                signature_name="search")
        query = subprocess.run(
            printed_query_command(stdout, server.grpc_port),
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )
    # The served index ranks the held-out queries as the recipe's
    # in-process evaluation did, and returns the passages' texts.
    ids = [[text(value) for value in row] for row in answer["ids"]]
    assert ids == [row["retrieved"][:5] for row in rows]
    assert answer["scores"].shape == (len(rows), 5)
    assert np.all(np.diff(answer["scores"], axis=1) <= 1e-6)
    with open(os.path.join(ROOT, "tfzoo", "data", "samples", "faq_retrieval",
                           "corpus.jsonl")) as file:
        corpus = {doc["_id"]: doc for doc in map(json.loads, file)}
    best = corpus[ids[0][0]]
    assert text(answer["texts"][0][0]) == f"{best['title']}. {best['text']}"
    assert query.returncode == 0, query.stderr
    # The printed query is the first held-out query; three results.
    assert f'ids: [["{rows[0]["retrieved"][0]}", ' in query.stdout
    assert len(json.loads(re.search(r"^scores: (.+)$", query.stdout,
                                    re.MULTILINE)[1])[0]) == 3


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def test_resuming_with_other_settings_is_refused(run):
    model_dir = run[0]
    recipe = load_recipe("semantic_search")
    with pytest.raises(ValueError, match=(
            r"holds checkpoints of a run with other settings "
            r"\(sequence_length: 48 -> 64; batch_size: 64 -> 32; pooling: "
            r"'mean' -> 'cls'\)")):
        recipe.main(["--model_dir", str(model_dir), "--pooling", "cls"])


def test_bm25_scores_by_hand():
    documents = ["cancel my pass", "renew my pass", "cancel the card now"]
    index = BM25(documents)
    # idf(cancel) = log(1 + (3 - 2 + 0.5) / (2 + 0.5)) = log(1.6); the
    # average length is 10/3; k1 = 1.5, b = 0.75.
    norm = lambda length: 1.5 * (0.25 + 0.75 * length / (10 / 3))  # noqa
    idf = np.log(1.6)
    expected = [idf * 2.5 / (1 + norm(3)), 0.0, idf * 2.5 / (1 + norm(4))]
    np.testing.assert_allclose(index.scores("Cancel!"), expected)
    assert index.rank("cancel pass", top_k=2) == [0, 1]
    with pytest.raises(ValueError, match="at least one document"):
        BM25([])


def test_a_yaml_config_and_flags(tmp_path, capsys):
    config = tmp_path / "search.yaml"
    config.write_text("epochs: 9\npooling: max\nmin_positive_score: 0.8\n")
    recipe = load_recipe("semantic_search")
    with pytest.raises(SystemExit) as exit_info:
        recipe.main(["--config", str(config), "--epochs", "2",
                     "--print_config"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "epochs: 2\n" in printed
    assert "pooling: max\n" in printed
    assert "min_positive_score: 0.8\n" in printed
    assert "retrieval_dir: sample:faq_retrieval\n" in printed


def write_lines(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def write_retrieval(directory, corpus, queries=None, qrels=None):
    write_lines(directory / "corpus.jsonl", [json.dumps(d) for d in corpus])
    write_lines(directory / "queries.jsonl", [json.dumps(q) for q in (
        queries or [{"_id": "q1", "text": "stop my plan"},
                    {"_id": "q2", "text": "fix my phone"}])])
    for split, line in (("train", "q1\td1\t1"), ("test", "q2\td1\t1")):
        write_lines(directory / "qrels" / f"{split}.tsv",
                    ["query-id\tcorpus-id\tscore", *(qrels or {}).get(
                        split, [line])])
    return str(directory)


GOOD_CORPUS = [{"_id": "d1", "title": "Cancelling", "text": "Press cancel."},
               {"_id": "d2", "title": "Repairs", "text": "Bring it in."}]
GOOD_PAIRS = ['{"text": "stop it", "text_pair": "cancel it", "score": 5}',
              '{"text": "mend it", "text_pair": "repair it", "score": 4.5}']


@pytest.mark.parametrize("corpus, pairs, extra, message", [
    ([], GOOD_PAIRS, [], r"corpus.jsonl: the corpus is empty"),
    (GOOD_CORPUS + [{"_id": "d2", "text": "Again."}], GOOD_PAIRS, [],
     r"corpus.jsonl, line 3: duplicate _id 'd2' \(first at line 2\)"),
    (GOOD_CORPUS, [GOOD_PAIRS[0], '{"text": "mend it", "score": 4}'], [],
     r"pairs.jsonl, line 2: no text_pair field 'text_pair'"),
    (GOOD_CORPUS, GOOD_PAIRS, ["--min_positive_score", "6"],
     r"No pair of .*pairs.jsonl scores at least --min_positive_score 6.0 "
     r"\(the highest is 5.0\)"),
    (GOOD_CORPUS, GOOD_PAIRS, ["--eval_split", "train"],
     r"--train_split 'train' and --eval_split 'train' share 1 queries"),
    (GOOD_CORPUS, GOOD_PAIRS, ["--eval_split", "dev"],
     r"qrels/dev.tsv not found.*splits here are: test, train"),
    (GOOD_CORPUS, GOOD_PAIRS, ["--tfds_name", "glue/sst2"],
     r"--tfds_name 'glue/sst2' is not a sentence-pair set; use one of "
     r"glue/stsb"),
    (GOOD_CORPUS, GOOD_PAIRS[:1], ["--train_split", ""],
     r"1 training pairs: in-batch negatives need at least 2"),
])
def test_bad_input_is_an_error_naming_it(tmp_path, corpus, pairs, extra,
                                         message):
    recipe = load_recipe("semantic_search")
    directory = write_retrieval(tmp_path / "beir", corpus)
    train = write_lines(tmp_path / "pairs.jsonl", pairs)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        recipe.main(["--train_file", train, "--sts_file", "",
                     "--retrieval_dir", directory,
                     "--model_dir", str(tmp_path / "run"), *extra])
    assert not os.path.exists(tmp_path / "run")  # failed before training


def test_the_command_prints_the_error_without_a_traceback(tmp_path):
    directory = write_retrieval(tmp_path / "beir", GOOD_CORPUS, qrels={
        "test": ["q2\td9\t1"]})
    result = run_recipe("semantic_search", "--retrieval_dir", directory,
                        "--model_dir", tmp_path / "run", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {directory}/qrels/test.tsv, line 2: document 'd9' is not "
        f"in corpus.jsonl (or was skipped as empty). Fix: add the document "
        f"or drop the judgement.")
    assert "Traceback" not in result.stderr
