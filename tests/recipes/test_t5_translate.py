"""t5_translate end to end on the bundled English-to-Artlang sample, with a
tiny T5 from scratch: one shared run (killed after its first checkpoint,
then resumed to the end; BLEU and chrF before and after; export), then
what a user sees: BLEU far
above the untrained start, the run directory's files, the resume's step
counts, and a served `generate` that answers the printed query command
with the recipe's own beam-search translation; plus errors for bad
input."""

import json
import os
import re
import subprocess

import numpy as np
import pytest

from serving.client import GrpcPredictionClient
from serving.local_server import LocalServer
from tests.recipes.recipe_runs import (
    ROOT,
    load_recipe,
    printed_query_command,
    printed_value,
    run_recipe,
    run_until_checkpoint,
)
from tfzoo.training import latest_checkpoint_state

EPOCHS = 2
STEPS_PER_EPOCH = 188  # 3000 pairs, batches of 16
INTERRUPTED_AT = 94  # --checkpoint_every
EVAL_PAIRS = 40
BEAMS = 2
# t5_tiny at half its width, a short evaluation, and no XLA for the
# training step (on a model this small, compiling a step for each pair of
# source and target length buckets costs more than it saves: the run took
# 63 s instead of 140 s), so that the module takes about two minutes on 2
# CPU cores. The default run: full width, 12 epochs, XLA.
TINY = ("--epochs", EPOCHS, "--hidden_dim", 64, "--learning_rate", 3e-3,
        "--max_eval_examples", EVAL_PAIRS, "--num_beams", BEAMS,
        "--target_sequence_length", 24, "--no_xla",
        "--checkpoint_every", INTERRUPTED_AT)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Killed after its first checkpoint, then run again to the end."""
    model_dir = tmp_path_factory.mktemp("t5_translate") / "run"
    first = run_until_checkpoint("t5_translate", model_dir, *TINY)
    steps_after_first = latest_checkpoint_state(
        model_dir / "checkpoints")["global_step"]
    second = run_recipe("t5_translate", "--model_dir", model_dir, *TINY)
    with open(model_dir / "eval.json") as file:
        results = json.load(file)
    return model_dir, first, steps_after_first, second.stdout, results


def test_bleu_and_chrf_rise_far_above_the_untrained_start(run):
    _, _, _, stdout, results = run
    before, after = results["before"], results["after"]
    assert results["num_training_pairs"] == 3000
    assert results["num_eval_pairs"] == EVAL_PAIRS
    assert results["num_beams"] == BEAMS
    assert results["task_prefix"] == "translate English to Artlang: "
    # Measured (376 steps of a half-width t5_tiny): BLEU 0.0 -> 9.5 to
    # 11.3, chrF 0.8 -> 30.7 to 33.2 (with and without XLA and the
    # interruption);
    # the untrained model repeats a word until --max_new_tokens. The
    # default run (full width, 12 epochs) reaches BLEU 42; see the README.
    assert after["bleu"] > 5, results
    assert after["bleu"] > before["bleu"] + 4, results
    # Copying the English source scores BLEU 0.34, chrF 10.5 on these 40
    # pairs (Artlang shares only punctuation with English).
    copy = results["copy_baseline"]
    assert copy["bleu"] == pytest.approx(0.34, abs=0.01), copy
    assert after["bleu"] > copy["bleu"] + 4 and after["chrf"] > copy["chrf"]
    assert (f"copy baseline (each source as its translation): BLEU "
            f"{copy['bleu']:.2f}, chrF {copy['chrf']:.2f}") in stdout
    assert after["chrf"] > before["chrf"] + 20, results
    assert printed_value(stdout, "after.bleu") == pytest.approx(
        after["bleu"], abs=1e-4)
    assert results["signatures"]["bleu"].startswith(
        "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.")
    assert f"BLEU signature: {results['signatures']['bleu']}" in stdout
    assert results["signatures"]["chrf"].startswith("nrefs:1|case:mixed|")


def test_predictions_are_the_held_out_pairs_with_their_translations(run):
    model_dir, _, _, _, results = run
    with open(model_dir / "predictions.jsonl") as file:
        rows = [json.loads(line) for line in file]
    with open(os.path.join(ROOT, "tfzoo", "data", "samples",
                           "translation_test.jsonl")) as file:
        pairs = [json.loads(line) for line in file][:EVAL_PAIRS]
    assert [(row["source"], row["reference"]) for row in rows] == [
        (pair["en"], pair["art"]) for pair in pairs]
    from tfzoo.metrics import corpus_bleu

    assert corpus_bleu([row["hypothesis"] for row in rows],
                       [row["reference"] for row in rows])["bleu"] == \
        pytest.approx(results["after"]["bleu"])


def test_an_interrupted_run_resumes_with_its_vocabulary(run):
    model_dir, first, steps, second, _ = run
    assert "(new run)" in first
    # The input pipeline is stateless, so its position is checkpointed
    # with the step and the resumed epoch goes on where it stopped.
    assert "input iterator's state cannot be saved" not in first
    assert steps == INTERRUPTED_AT
    assert (f"resuming from ckpt-{steps} ({steps} steps trained, epoch "
            f"1)") in second
    total = EPOCHS * STEPS_PER_EPOCH
    assert f"this run trained {total - steps} steps (global step {steps} " \
           f"-> {total})" in second
    assert latest_checkpoint_state(model_dir / "checkpoints")[
        "global_step"] == total
    # The vocabulary trained by the first run is kept.
    vocabulary = re.findall(r"vocabulary: (\d+) SentencePiece pieces \((.+)\)",
                            first + second)
    assert len(vocabulary) == 2 and vocabulary[0] == vocabulary[1]
    assert vocabulary[0][1] == str(model_dir / "spiece.model")


def test_run_directory_curves_history_and_logs(run):
    model_dir = run[0]
    with open(model_dir / "curves.png", "rb") as file:
        assert file.read(4) == b"\x89PNG"
    with open(model_dir / "history.json") as file:
        history = json.load(file)
    assert len(history) == EPOCHS
    assert history[str(EPOCHS - 1)]["val_loss"] < history["0"]["val_loss"]
    for split in ("train", "validation"):
        events = os.listdir(model_dir / "logs" / split)
        assert any(name.startswith("events.out.tfevents") for name in events)
    assert os.path.exists(model_dir / "model.keras")


def test_the_export_serves_beam_search_with_the_printed_commands(run,
                                                                 tmp_path):
    model_dir, _, _, stdout, results = run
    export = re.search(r"exported for TensorFlow Serving: (\S+)", stdout)[1]
    assert export == str(model_dir / "export" / "1")
    serve = re.search(r"python -m serving.server (.+)", stdout)[1]
    flags = [flag for flag in serve.split() if not flag.startswith("--port")
             and not flag.startswith("--rest_api_port")]
    with open(model_dir / "predictions.jsonl") as file:
        rows = [json.loads(line) for line in file][:4]
    prefix = results["task_prefix"]
    count = len(rows)
    with LocalServer(flags, "translate", str(tmp_path / "server.log")) as \
            server:
        with GrpcPredictionClient("translate", port=server.grpc_port,
                                  timeout=60) as client:
            answer = client.predict({
                "text": [prefix + row["source"] for row in rows],
                "max_new_tokens": np.full(count, 24, "int32"),
                "num_beams": np.full(count, BEAMS, "int32"),
                "temperature": np.ones(count, "float32"),
                "top_k": np.ones(count, "int32"),
                "top_p": np.ones(count, "float32"),
                "seed": np.zeros(count, "int32"),
            }, signature_name="generate")
            greedy = client.predict(
                {"text": [prefix + rows[0]["source"]]})
        query = subprocess.run(
            printed_query_command(stdout, server.grpc_port),
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )
    # The served beam search translates as the recipe's evaluation did.
    assert [text(value) for value in answer["generated_text"]] == [
        row["hypothesis"] for row in rows]
    assert len(text(greedy["generated_text"][0])) > 0
    assert query.returncode == 0, query.stderr
    # The printed query asks for the first held-out sentence.
    assert json.dumps([rows[0]["hypothesis"]], ensure_ascii=False) in \
        query.stdout


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def test_resuming_with_other_settings_is_refused(run):
    model_dir = run[0]
    recipe = load_recipe("t5_translate")
    with pytest.raises(ValueError, match=(
            r"holds checkpoints of a run with other settings "
            r"\(hidden_dim: 64 -> None; .*task_prefix: None -> 'x: '")):
        recipe.main(["--model_dir", str(model_dir), "--task_prefix", "x: "])


def test_a_yaml_config_and_flags(tmp_path, capsys):
    config = tmp_path / "translate.yaml"
    config.write_text("epochs: 9\nnum_beams: 6\ntarget_language: de\n")
    recipe = load_recipe("t5_translate")
    with pytest.raises(SystemExit) as exit_info:
        recipe.main(["--config", str(config), "--epochs", "2",
                     "--print_config"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "epochs: 2\n" in printed
    assert "num_beams: 6\n" in printed
    assert "target_language: de\n" in printed
    assert "train_file: sample:translation_train.jsonl\n" in printed


def test_the_example_configs_are_valid(capsys):
    recipe = load_recipe("t5_translate")
    configs = os.path.join(ROOT, "recipes", "configs")
    names = [name for name in sorted(os.listdir(configs))
             if name.startswith("translate")]
    assert names == ["translate_ted_pt_en.yaml", "translate_wmt14_en_de.yaml"]
    for name in names:
        with pytest.raises(SystemExit):
            recipe.main(["--config", os.path.join(configs, name),
                         "--print_config"])
    printed = capsys.readouterr().out
    assert "tfds_name: wmt14_translate/de-en\n" in printed
    assert "tfds_name: ted_hrlr_translate/pt_to_en\n" in printed


def write_lines(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


GOOD = ['{"en": "Good morning.", "de": "Guten Morgen."}',
        '{"en": "Thank you.", "de": "Danke."}']


@pytest.mark.parametrize("train, extra, message", [
    ([], [], r"train.jsonl holds no records. Fix: check the path"),
    ([GOOD[0], '{"en": "No German."}'], [],
     r"train.jsonl, line 2: no 'de' field \(line 1 has one"),
    (['{"text": "a", "label": "b"}'], [],
     r"train.jsonl, line 1: the record has \['label', 'text'\], neither "
     r"'source' and 'target' columns nor the language keys 'en' and one "
     r"other"),
    (GOOD, ["--target_language", "fr"],
     r"the language keys 'en' and 'fr'.*Fix: name the columns source and "
     r"target"),
    (GOOD, ["--tfds_name", "wmt19_translate/de-en"],
     r"Unsupported TFDS dataset 'wmt19_translate/de-en'"),
    (GOOD, ["--tfds_name", "glue/sst2"],
     r"glue/sst2 is not a translation set. Fix: use one of "
     r"wmt14_translate/de-en"),
    (GOOD, ["--tfds_name", "wmt14_translate/de-en", "--source_language",
            "fr"],
     r"--source_language 'fr' is not a language of wmt14_translate/de-en "
     r"\(de, en\)"),
    (GOOD, ["--num_beams", "0"], r"--num_beams must be at least 1, got 0"),
    (['{"source": "a", "target": "b"}'], ["--eval_file", "TRAIN"],
     r"the target language is unknown. Fix: pass --target_language"),
])
def test_bad_input_is_an_error_naming_it(tmp_path, train, extra, message):
    recipe = load_recipe("t5_translate")
    path = write_lines(tmp_path / "train.jsonl", train)
    extra = [path if value == "TRAIN" else value for value in extra]
    with pytest.raises(ValueError, match=message):
        recipe.main(["--train_file", path, "--eval_file", path,
                     "--model_dir", str(tmp_path / "run"), *extra])
    assert not os.path.exists(tmp_path / "run")  # failed before training


def test_the_command_prints_the_error_without_a_traceback(tmp_path):
    path = write_lines(tmp_path / "pairs.jsonl", GOOD)
    result = run_recipe("t5_translate", "--train_file", path, "--eval_file",
                        path, "--tfds_name", "wmt14_translate/de-en",
                        "--data_dir", tmp_path / "tfds", "--model_dir",
                        tmp_path / "run", check=False)
    assert result.returncode == 2
    # (TFDS's own logger may warn about the missing folder first.)
    assert ("\nerror: Cannot load TFDS dataset 'wmt14_translate/de-en'"
            in "\n" + result.stderr)
    assert "read_parallel_file" in result.stderr
    assert "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "run")


def test_init_checkpoint_takes_the_run_directory_model(run):
    """A tfzoo directory with model.keras (this recipe's run directory)
    loads with its tokenizer and a preprocessor of the new lengths, and
    translates as the run's evaluation did."""
    from tfzoo.models import T5Seq2SeqLM
    from tfzoo.preprocessing import T5Seq2SeqLMPreprocessor
    from tfzoo.recipes.initial_weights import load_seq2seq_checkpoint

    model_dir, _, _, _, results = run
    model = load_seq2seq_checkpoint(
        str(model_dir), T5Seq2SeqLM, T5Seq2SeqLMPreprocessor,
        encoder_sequence_length=40, decoder_sequence_length=20)
    assert model.preprocessor.encoder_sequence_length == 40
    assert model.tokenizer.vocabulary_size == int(re.findall(
        r"vocabulary: (\d+)", run[1])[0])
    with open(model_dir / "predictions.jsonl") as file:
        row = json.loads(file.readline())
    assert model.generate([results["task_prefix"] + row["source"]],
                          max_new_tokens=24, sampler="beam",
                          num_beams=BEAMS, jit_compile=False) == [
        row["hypothesis"]]


def test_init_checkpoint_takes_a_hugging_face_t5_directory(tmp_path):
    from tests.models.t5.hf_t5 import hf_model
    from tfzoo.models import T5Seq2SeqLM
    from tfzoo.preprocessing import T5Seq2SeqLMPreprocessor
    from tfzoo.recipes.initial_weights import load_seq2seq_checkpoint
    from tfzoo.tokenizers import train_sentence_piece_model

    proto = train_sentence_piece_model(
        ["the tide turns at the old pier\n", "gulls circle the harbour\n"]
        * 20, 279, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        add_dummy_prefix=True)
    hf_model(False, seed=3, vocab_size=279).save_pretrained(tmp_path)
    (tmp_path / "spiece.model").write_bytes(proto)
    model = load_seq2seq_checkpoint(
        str(tmp_path), T5Seq2SeqLM, T5Seq2SeqLMPreprocessor,
        encoder_sequence_length=32, decoder_sequence_length=16)
    assert model.backbone.vocabulary_size == 279
    assert model.preprocessor.decoder_sequence_length == 16
    features, labels, _ = model.preprocessor(
        (["the old pier"], ["gulls"]))
    assert labels.shape == (1, 16)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=(
            r"--init_checkpoint '.*empty' holds neither model.keras \(a "
            r"tfzoo T5Seq2SeqLM\) nor config.json")):
        load_seq2seq_checkpoint(str(empty), T5Seq2SeqLM,
                                T5Seq2SeqLMPreprocessor)


def test_tfds_pairs_take_the_direction_and_limits(tmp_path):
    """A prepared TFDS translation set (written as
    tests/data/test_tfds_translation.py does) read by the recipe: the
    source language picks the direction, the target defaults to the
    other language, and --max_*_examples cut the splits."""
    from tests.data.test_tfds_loaders import write_prepared_dataset
    from tests.data.test_tfds_translation import TED, ted_splits
    from tfzoo.recipes.config import parse_config

    write_prepared_dataset(tmp_path / "tfds", "ted_hrlr_translate/pt_to_en",
                           ted_splits(tmp_path / "raw"))
    recipe = load_recipe("t5_translate")

    def pairs(*flags):
        args = parse_config(recipe.build_parser(), [
            "--tfds_name", "ted_hrlr_translate/pt_to_en", "--data_dir",
            str(tmp_path / "tfds"), *flags])
        recipe.check_settings(args)
        train, evaluation = recipe.read_pairs(args)
        return args, train, evaluation

    args, train, evaluation = pairs("--source_language", "pt")
    assert args.target_language == "en"
    assert recipe.task_prefix(args) == "translate Portuguese to English: "
    assert sorted(zip(train["sources"], train["targets"])) == sorted(
        TED["train"])
    assert list(zip(evaluation["sources"], evaluation["targets"])) == \
        TED["test"]
    args, train, evaluation = pairs("--max_train_examples", "1",
                                    "--eval_split", "validation")
    assert args.target_language == "pt"  # English to Portuguese
    assert len(train["sources"]) == 1
    assert train["sources"][0] in [en for _, en in TED["train"]]
    assert evaluation["targets"] == [pt for pt, _ in TED["dev"]]
    with pytest.raises(ValueError, match=(
            r"--target_language 'de' is not the other language of "
            r"ted_hrlr_translate/pt_to_en \(pt, en\). Fix: pass pt")):
        pairs("--target_language", "de")
