"""t5_pretrain end to end with a tiny T5 on a small corpus this test
writes (documents drawn from a dozen sentences, so that a half-width
t5_tiny learns to fill spans in a few hundred steps; the bundled corpus
needs the default run's minutes, see the README): one shared run, killed
after its first checkpoint and resumed to the end; then what a user
sees: held-out span accuracy above the untrained start and the most
frequent token, the resume's step counts, the run directory's files, and
a checkpoint that t5_translate's --init_checkpoint loads with its
sentinel vocabulary, and a served model that fills the printed query's
sentinels as the recipe did; plus bad corpora refused before any
training."""

import json
import os
import random
import re

import numpy as np
import pytest

from tests.recipes.recipe_runs import (
    load_recipe,
    query_the_printed_server,
    run_recipe,
    run_until_checkpoint,
)
from tfzoo.training import latest_checkpoint_state

SENTENCES = [
    "The old miller grinds wheat by the river.",
    "A red fox sleeps under the oak tree.",
    "Children sail paper boats on the pond.",
    "The baker sells warm bread every morning.",
    "Heavy rain floods the valley in spring.",
    "Our teacher reads poems after lunch.",
    "The night train leaves the station at ten.",
    "Bees carry pollen from flower to flower.",
    "The mayor opens the market on Sunday.",
    "Snow covers the mountain pass in winter.",
    "Fishermen mend their nets on the beach.",
    "The library lends books to every student.",
]
EPOCHS = 12
STEPS_PER_EPOCH = 41  # 108 training documents, 328 chunks, batches of 8
INTERRUPTED_AT = 20  # --checkpoint_every
# Half-width t5_tiny, short sequences, no XLA: the module takes about
# 1.5 to 2 minutes on 2 CPU cores.
TINY = ("--epochs", EPOCHS, "--hidden_dim", 64, "--no_xla",
        "--learning_rate", 5e-3, "--batch_size", 8, "--sequence_length", 32,
        "--vocabulary_size", 100, "--checkpoint_every", INTERRUPTED_AT)


def write_corpus(path, documents=120):
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as file:
        for _ in range(documents):
            file.write("\n".join(rng.sample(SENTENCES, 5)) + "\n\n")
    return str(path)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Killed after its first checkpoint, then run again to the end."""
    directory = tmp_path_factory.mktemp("t5_pretrain")
    corpus = write_corpus(directory / "corpus.txt")
    model_dir = directory / "run"
    arguments = ("--train_files", corpus, *TINY)
    first = run_until_checkpoint("t5_pretrain", model_dir, *arguments)
    steps_after_first = latest_checkpoint_state(
        model_dir / "checkpoints")["global_step"]
    second = run_recipe("t5_pretrain", "--model_dir", model_dir, *arguments)
    with open(model_dir / "eval.json") as file:
        results = json.load(file)
    return model_dir, first, steps_after_first, second.stdout, results


def test_span_accuracy_rises_above_the_start_and_chance(run):
    _, _, _, stdout, results = run
    before, after = results["before"], results["after"]
    assert results["num_training_documents"] == 108
    assert results["num_eval_documents"] == 12
    # Measured: span accuracy 0.01 -> 0.19, while always writing the most
    # frequent held-out token scores 0.08; perplexity 412 -> 8.
    assert before["span_accuracy"] < before["chance_span_accuracy"]
    assert after["span_accuracy"] > before["span_accuracy"] + 0.08, results
    assert after["span_accuracy"] > after["chance_span_accuracy"] + 0.04
    assert after["accuracy"] > after["chance_accuracy"] + 0.2, results
    assert after["perplexity"] < before["perplexity"] / 20, results
    assert after["hidden_tokens"] == before["hidden_tokens"] > 100
    assert (f"after training: span accuracy {after['span_accuracy']:.3f} "
            f"(most frequent token: {after['chance_span_accuracy']:.3f})"
            in stdout)


def test_an_interrupted_run_resumes_and_the_run_directory(run):
    model_dir, first, steps, second, results = run
    assert "(new run)" in first
    # The input pipeline is stateless, so its position is checkpointed
    # with the step and the resumed epoch goes on where it stopped.
    assert "input iterator's state cannot be saved" not in first
    assert steps == INTERRUPTED_AT
    assert f"resuming from ckpt-{steps} ({steps} steps trained, epoch 1)" \
        in second
    total = EPOCHS * STEPS_PER_EPOCH
    assert f"this run trained {total - steps} steps (global step {steps} " \
           f"-> {total})" in second
    assert results["trained_steps"] == total
    vocabulary = re.findall(
        r"vocabulary: (\d+) SentencePiece pieces, 100 of them sentinels",
        first + second)
    assert len(vocabulary) == 2 and vocabulary[0] == vocabulary[1]
    with open(model_dir / "curves.png", "rb") as file:
        assert file.read(4) == b"\x89PNG"
    with open(model_dir / "history.json") as file:
        assert len(json.load(file)) == EPOCHS
    assert os.listdir(model_dir / "logs" / "train")
    with open(model_dir / "predictions.jsonl") as file:
        row = json.loads(file.readline())
    assert "<extra_id_0>" in row["source"]
    assert row["reference"].startswith("<extra_id_0>")
    assert os.path.exists(model_dir / "export" / "1" / "saved_model.pb")
    for recipe in ("t5_translate", "t5_summarize"):
        assert (f"python recipes/{recipe}.py --init_checkpoint {model_dir}"
                in second)


def test_the_printed_query_gets_the_recipes_fill_from_the_server(
        run, tmp_path):
    model_dir, _, _, stdout, _ = run
    with open(model_dir / "predictions.jsonl") as file:
        first = json.loads(file.readline())
    answer = query_the_printed_server(stdout, "t5_pretrain",
                                      tmp_path / "server.log")
    # The printed query sends the first held-out corrupted text: the
    # served fill of its sentinels is the recipe's own.
    assert json.dumps([first["hypothesis"]], ensure_ascii=False) in answer


def test_t5_translate_starts_from_the_checkpoint_and_its_vocabulary(run):
    """What `t5_translate --init_checkpoint MODEL_DIR` builds: the
    pretrained weights and tokenizer, sentinels included; no vocabulary is
    trained (the texts are never asked for)."""
    import keras

    from tfzoo.recipes.config import parse_config
    from tfzoo.recipes.seq2seq_recipe import build_model

    model_dir = run[0]
    recipe = load_recipe("t5_translate")
    args = parse_config(recipe.build_parser(),
                        ["--init_checkpoint", str(model_dir)])
    recipe.check_settings(args)

    def no_texts():
        raise AssertionError("trained a vocabulary")

    model = build_model(args, None, no_texts)
    saved = keras.saving.load_model(model_dir / "model.keras")
    tokenizer = model.preprocessor.tokenizer
    assert tokenizer.extra_ids == 100
    assert tokenizer.get_vocabulary() == saved.tokenizer.get_vocabulary()
    assert model.preprocessor.encoder_sequence_length == args.sequence_length
    for mine, theirs in zip(model.backbone.weights, saved.backbone.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("lines, error, message", [
    ([], ValueError, r"No documents in .*corpus.txt: the files hold only "
                     r"blank lines"),
    (["One sentence.", "Another one."], ValueError,
     r"The corpus has 1 document\(s\); pretraining needs at least one to "
     r"train on and one to hold out"),
    (None, FileNotFoundError, r"Data file .*missing.txt' not found"),
])
def test_bad_corpora_are_refused_before_training(tmp_path, lines, error,
                                                 message):
    recipe = load_recipe("t5_pretrain")
    if lines is None:
        path = str(tmp_path / "missing.txt")
    else:
        path = write_lines(tmp_path / "corpus.txt", lines)
    with pytest.raises(error, match=message):
        recipe.main(["--train_files", path,
                     "--model_dir", str(tmp_path / "run")])
    assert not os.path.exists(tmp_path / "run")
