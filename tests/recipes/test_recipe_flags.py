"""Every BERT recipe (and the T5 ones) takes the common flags and explains
each in --help."""

import re

import pytest

from tests.recipes.recipe_runs import load_recipe

RECIPES = ("bert_pretrain", "bert_classify", "bert_ner", "bert_qa",
           "semantic_search", "t5_pretrain", "t5_translate", "t5_summarize")
COMMON_FLAGS = (
    "--preset", "--init_checkpoint", "--strategy", "--precision", "--epochs",
    "--batch_size", "--learning_rate", "--sequence_length", "--model_dir",
    "--export_dir", "--config", "--print_config", "--tfds_name",
    "--data_dir",
)


@pytest.mark.parametrize("name", RECIPES)
def test_help_explains_every_flag(name, capsys):
    recipe = load_recipe(name)
    with pytest.raises(SystemExit) as exit_info:
        recipe.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    options = re.findall(r"^  (--\w+)(.*)\n((?:\s{20,}.*\n)*)", text,
                         re.MULTILINE)
    described = {flag: (rest + more).strip() for flag, rest, more in options}
    for flag in COMMON_FLAGS:
        assert flag in described, f"{name} --help lacks {flag}"
    undescribed = [flag for flag, words in described.items()
                   if len(re.sub(r"^[A-Z_]+(\s|$)", "", words)) < 10]
    assert not undescribed, f"{name}: flags without help: {undescribed}"


@pytest.mark.parametrize("name", RECIPES)
def test_bad_flag_values_are_refused_before_any_work(name, capsys):
    recipe = load_recipe(name)
    with pytest.raises(SystemExit) as exit_info:
        recipe.main(["--precision", "float8"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'float8'" in capsys.readouterr().err
