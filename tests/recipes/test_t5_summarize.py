"""t5_summarize end to end on the bundled news reports, with a tiny T5
from scratch: one shared run (killed after its first checkpoint, then
resumed to the end; ROUGE before and after, the lead baseline; export),
then what a user sees: ROUGE far above the untrained start, the run
directory's files, the resume's step counts, and a served `generate`
that answers the printed query command with the recipe's own summary;
plus errors for bad data, called before any training; and a prepared
TFDS billsum read by the recipe."""

import json
import os
import re

import pytest

from tests.recipes.recipe_runs import (
    ROOT,
    load_recipe,
    query_the_printed_server,
    run_recipe,
    run_until_checkpoint,
)
from tfzoo.training import latest_checkpoint_state

EPOCHS = 2
STEPS_PER_EPOCH = 38  # 600 documents, batches of 16
INTERRUPTED_AT = 20  # --checkpoint_every
EVAL_DOCUMENTS = 16
BEAMS = 2
# t5_tiny at half its width, 600 of the 1200 training reports, a short
# evaluation and no XLA, so that the module takes about a minute and a
# half on 2 CPU cores (91 s measured). The default run: full width, 1200 reports, 10
# epochs, XLA; see the README.
TINY = ("--epochs", EPOCHS, "--hidden_dim", 64, "--learning_rate", 3e-3,
        "--max_train_examples", 600, "--max_eval_examples", EVAL_DOCUMENTS,
        "--num_beams", BEAMS, "--max_new_tokens", 16, "--no_xla",
        "--checkpoint_every",
        INTERRUPTED_AT)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Killed after its first checkpoint, then run again to the end."""
    model_dir = tmp_path_factory.mktemp("t5_summarize") / "run"
    first = run_until_checkpoint("t5_summarize", model_dir, *TINY)
    steps_after_first = latest_checkpoint_state(
        model_dir / "checkpoints")["global_step"]
    second = run_recipe("t5_summarize", "--model_dir", model_dir, *TINY)
    with open(model_dir / "eval.json") as file:
        results = json.load(file)
    return model_dir, first, steps_after_first, second.stdout, results


def test_rouge_rises_far_above_the_untrained_start(run):
    _, _, _, stdout, results = run
    before, after = results["before"], results["after"]
    lead = results["lead_baseline"]
    assert results["num_training_documents"] == 600
    assert results["num_eval_documents"] == EVAL_DOCUMENTS
    assert results["task_prefix"] == "summarize: "
    # Measured (76 steps of a half-width t5_tiny on 600 reports, 16
    # held-out ones): ROUGE-1 0.0 -> 45.0, ROUGE-2 0.0 -> 26.7, while the
    # lead sentence scores 24.3 and 8.3; the untrained model repeats a
    # word. The default run (full width, 1200 reports, 10 epochs)
    # reaches ROUGE-1 74.2; see the README.
    assert before["rouge1"] < 5, results
    assert after["rouge1"] > before["rouge1"] + 15, results
    assert after["rouge2"] > before["rouge2"] + 5, results
    assert 15 < lead["rouge1"] < 35 and lead["rouge2"] < 12, results
    assert after["rouge1"] > lead["rouge1"] + 10, results
    assert after["rouge2"] > lead["rouge2"] + 8, results
    assert after["rougeL"] <= after["rouge1"] + 1e-6
    assert 2 < after["mean_words"] < 12, results
    assert f"after training: rouge1 {after['rouge1']:.2f}," in stdout
    assert f"lead baseline (first sentence): rouge1 {lead['rouge1']:.2f}," \
        in stdout


def test_predictions_hold_the_held_out_reports_and_summaries(run):
    model_dir, _, _, _, results = run
    from tfzoo.metrics import rouge

    with open(model_dir / "predictions.jsonl") as file:
        rows = [json.loads(line) for line in file]
    with open(os.path.join(ROOT, "tfzoo", "data", "samples",
                           "summarization_test.jsonl")) as file:
        reports = [json.loads(line) for line in file][:EVAL_DOCUMENTS]
    assert [(row["source"], row["reference"]) for row in rows] == [
        (report["document"], report["summary"]) for report in reports]
    assert rouge([row["hypothesis"] for row in rows],
                 [row["reference"] for row in rows])["rouge1"] == \
        pytest.approx(results["after"]["rouge1"])


def test_an_interrupted_run_resumes_and_the_run_directory(run):
    model_dir, first, steps, second, _ = run
    assert "(new run)" in first
    assert steps == INTERRUPTED_AT
    assert f"resuming from ckpt-{steps} ({steps} steps trained, epoch 1)" \
        in second
    total = EPOCHS * STEPS_PER_EPOCH
    assert f"this run trained {total - steps} steps (global step {steps} " \
           f"-> {total})" in second
    vocabulary = re.findall(r"vocabulary: (\d+) SentencePiece pieces",
                            first + second)
    assert len(vocabulary) == 2 and vocabulary[0] == vocabulary[1]
    with open(model_dir / "curves.png", "rb") as file:
        assert file.read(4) == b"\x89PNG"
    with open(model_dir / "history.json") as file:
        assert len(json.load(file)) == EPOCHS
    assert os.listdir(model_dir / "logs" / "train")
    assert os.path.exists(model_dir / "model.keras")


def test_the_printed_query_gets_the_recipes_summary_from_the_server(
        run, tmp_path):
    model_dir, _, _, stdout, _ = run
    with open(model_dir / "predictions.jsonl") as file:
        first = json.loads(file.readline())
    answer = query_the_printed_server(stdout, "summarize",
                                      tmp_path / "server.log")
    # The printed query asks for the first held-out report, with the
    # evaluation's beams: the served summary is the recipe's own.
    assert json.dumps([first["hypothesis"]], ensure_ascii=False) in answer


def write_lines(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


GOOD = ['{"document": "Rain fell. Roads shut.", "summary": "Roads shut"}',
        '{"document": "A fox ran. It hid.", "summary": "Fox hides"}']


@pytest.mark.parametrize("name, lines, extra, message", [
    ("train.jsonl", [], [],
     r"train.jsonl holds no records. Fix: check the path"),
    ("train.jsonl", [GOOD[0], '{"document": "No summary here."}'], [],
     r"train.jsonl, line 2: no 'summary' field; the record has "
     r"\['document'\]. Fix: give every record a 'document' and a 'summary'"),
    ("train.csv", ["text,headline", "a,b"], [],
     r"train.csv, line 2: no 'document' field.*--document_column"),
    ("train.jsonl", ['{"document": " ", "summary": "x"}'], [],
     r"train.jsonl: all 1 records were skipped, the first at line 1 "
     r"\(empty 'document'\)"),
    ("train.jsonl", GOOD, ["--num_beams", "0"],
     r"--num_beams must be at least 1, got 0"),
])
def test_bad_data_is_an_error_naming_file_and_line(tmp_path, name, lines,
                                                   extra, message):
    recipe = load_recipe("t5_summarize")
    path = write_lines(tmp_path / name, lines)
    with pytest.raises(ValueError, match=message):
        recipe.main(["--train_file", path, "--eval_file", path,
                     "--model_dir", str(tmp_path / "run"), *extra])
    assert not os.path.exists(tmp_path / "run")  # failed before training


def test_empty_summaries_are_counted_skips_and_long_ones_truncations(
        tmp_path, capsys):
    from tfzoo.recipes.config import parse_config
    from tfzoo.recipes.seq2seq_recipe import count_truncated
    from tfzoo.models import T5Seq2SeqLM
    from tfzoo.preprocessing import T5Seq2SeqLMPreprocessor
    from tfzoo.tokenizers import SentencePieceTokenizer
    from tfzoo.tokenizers import train_sentence_piece_model

    recipe = load_recipe("t5_summarize")
    path = write_lines(tmp_path / "train.jsonl", [
        GOOD[0], '{"document": "Nothing.", "summary": ""}', GOOD[1]])
    args = parse_config(recipe.build_parser(), [
        "--train_file", path, "--eval_file", path,
        "--target_sequence_length", "4"])
    recipe.check_settings(args)
    train, _ = recipe.read_documents(args)
    assert train["summaries"] == ["Roads shut", "Fox hides"]
    assert "train.jsonl: kept 2, skipped 1\n  line 2: empty 'summary'" in \
        capsys.readouterr().out
    proto = train_sentence_piece_model(
        ["roads shut fox hides rain fell\n"] * 20, 40, pad_id=0, eos_id=1,
        unk_id=2, bos_id=-1, add_dummy_prefix=True, byte_fallback=False,
        hard_vocab_limit=False)
    tokenizer = SentencePieceTokenizer(proto)
    model = T5Seq2SeqLM.from_preset(
        "t5_tiny", vocabulary_size=tokenizer.vocabulary_size,
        preprocessor=T5Seq2SeqLMPreprocessor(  # as the recipe builds it
            tokenizer, decoder_sequence_length=args.target_sequence_length))
    lengths = tokenizer.tokenize(["Roads shut", "Fox hides", "a"]) \
        .row_lengths().numpy()
    expected = int((lengths > 3).sum())  # 3 tokens and </s> fit in 4
    assert 1 <= expected < 3
    assert count_truncated(model, ["Roads shut", "Fox hides", "a"], args,
                           what="summaries") == expected
    assert (f"{expected} of 3 training summaries are longer than "
            f"--target_sequence_length 4") in capsys.readouterr().out


def test_tfds_billsum_is_read_as_documents_and_summaries(tmp_path):
    """A real prepared TFDS billsum (raw JSONL in the original layout,
    parsed by the builder's own example generator, written with its
    features and metadata) read by the recipe."""
    from tests.data.test_tfds_loaders import write_prepared_dataset
    from tfzoo.recipes.config import parse_config

    bills = {
        "train": [("Sec. 1. Parks open at dawn. Sec. 2. Fees apply.",
                   "Sets park hours and fees.", "Parks Act", "b1"),
                  ("Sec. 1. Bridges get lights.", "Lights bridges.",
                   "Bridge Act", "b2"),
                  ("Sec. 1. Nothing.", "", "Empty Act", "b3")],
        "test": [("Sec. 1. Schools close in storms.",
                  "Storm closures for schools.", "School Act", "b4")],
    }
    raw = tmp_path / "raw"
    raw.mkdir()
    for split, rows in bills.items():
        with open(raw / f"{split}.jsonl", "w") as file:
            for text, summary, title, bill_id in rows:
                file.write(json.dumps({"text": text, "summary": summary,
                                       "title": title,
                                       "bill_id": bill_id}) + "\n")

    def splits(builder):
        return {split: list(builder._generate_examples(
            path=str(raw / f"{split}.jsonl"), key="bill_id"))
            for split in bills}

    write_prepared_dataset(tmp_path / "tfds", "billsum", splits)
    recipe = load_recipe("t5_summarize")
    args = parse_config(recipe.build_parser(), [
        "--tfds_name", "billsum", "--data_dir", str(tmp_path / "tfds")])
    recipe.check_settings(args)
    train, evaluation = recipe.read_documents(args)
    assert sorted(zip(train["documents"], train["summaries"])) == sorted(
        (text, summary) for text, summary, _, _ in bills["train"][:2])
    assert evaluation == {"documents": ["Sec. 1. Schools close in storms."],
                          "summaries": ["Storm closures for schools."]}
    assert recipe.lead_sentence(train["documents"][0]) in (
        "Sec.", "Sec. 1.", "Sec. 1. Parks open at dawn.")
