"""bert_pretrain end to end on its defaults: MLM + NSP on the bundled
corpus (interrupted, then resumed), held-out accuracy, and a backbone
that bert_classify starts from."""

import json
import os

import pytest

from tests.recipes.recipe_runs import NO_XLA, load_recipe, printed_value
from tests.recipes.recipe_runs import run_recipe
from tfzoo.training import latest_checkpoint_state


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("pretrain") / "run"
    first = run_recipe("bert_pretrain", "--model_dir", model_dir,
                       "--epochs", 1, *NO_XLA)
    after_first = latest_checkpoint_state(model_dir / "checkpoints")
    second = run_recipe("bert_pretrain", "--model_dir", model_dir, *NO_XLA)
    return model_dir, first.stdout, after_first, second.stdout


def test_the_second_run_resumes_after_the_first(run):
    model_dir, first, after_first, second = run
    assert "(new run)" in first
    steps = after_first["global_step"]
    assert f"resuming from ckpt-{steps} ({steps} steps trained" in second
    assert f"this run trained {9 * steps} steps" in second
    assert latest_checkpoint_state(model_dir / "checkpoints")[
        "global_step"] == 10 * steps


def test_held_out_mlm_and_nsp_accuracy_are_above_chance(run):
    model_dir, _, _, stdout = run
    with open(model_dir / "eval.json") as file:
        results = json.load(file)
    assert results["held_out_documents"] == 25  # 10% of 250
    assert results["mlm_accuracy"] > 2 * results["chance_mlm_accuracy"], (
        results)
    assert results["nsp_accuracy"] > results["chance_nsp_accuracy"] + 0.05, (
        results)
    for name in ("mlm_accuracy", "nsp_accuracy"):
        assert printed_value(stdout, name) == pytest.approx(results[name],
                                                             abs=1e-4)
    with open(model_dir / "curves.png", "rb") as file:
        assert file.read(4) == b"\x89PNG"
    assert os.listdir(model_dir / "logs" / "train")


def test_the_saved_backbone_starts_a_fine_tuning_recipe(run, tmp_path):
    model_dir, _, _, stdout = run
    backbone = model_dir / "backbone"
    assert sorted(os.listdir(backbone)) == [
        "backbone.keras", "tokenizer.json", "vocab.txt"]
    assert (f"python recipes/bert_classify.py --init_checkpoint "
            f"{backbone}") in stdout
    result = run_recipe("bert_classify", "--init_checkpoint", backbone,
                        "--epochs", 3, "--model_dir", tmp_path / "classify",
                        *NO_XLA)
    assert f"backbone: {backbone} (2 layers, hidden 128" in result.stdout
    assert printed_value(result.stdout, "accuracy") > 0.6
    assert not os.path.exists(tmp_path / "classify" / "vocab.txt")


def test_bad_corpora_are_clear_errors(tmp_path):
    recipe = load_recipe("bert_pretrain")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match=r"No documents in .*empty.txt"):
        recipe.main(["--train_files", str(empty)])
    one = tmp_path / "one.txt"
    one.write_text("A first sentence.\nA second one.\n\nAnother doc.\n")
    with pytest.raises(ValueError, match=r"corpus has 2 documents"):
        recipe.main(["--train_files", str(one)])
    with pytest.raises(FileNotFoundError, match=r"no/such/corpus.txt"):
        recipe.main(["--train_files", "no/such/corpus.txt"])
