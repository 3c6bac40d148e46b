import os

import pytest

from tfzoo.data import sample_names
from tfzoo.data import sample_path

DATA_FILES = [
    "faq_retrieval",
    "ner_test.conll",
    "ner_train.conll",
    "pretrain_corpus.txt",
    "qa_test.json",
    "paraphrase_test.jsonl",
    "paraphrase_train.jsonl",
    "qa_train.json",
    "sentiment_pairs_test.jsonl",
    "sentiment_pairs_train.jsonl",
    "sentiment_test.jsonl",
    "sentiment_train.jsonl",
    "summarization_test.jsonl",
    "summarization_train.jsonl",
    "translation_test.jsonl",
    "translation_train.jsonl",
]


@pytest.mark.parametrize("name", DATA_FILES)
def test_every_bundled_file_has_an_absolute_existing_path(name):
    path = sample_path(name)
    assert os.path.isabs(path)
    assert os.path.isfile(path) or os.path.isdir(path)
    assert os.path.basename(path) == name


def test_names_list_the_data_files_and_the_readme():
    assert sample_names() == sorted(DATA_FILES + ["README.md"])


def test_unknown_name_lists_the_available_samples():
    with pytest.raises(
        FileNotFoundError, match="'sentiment.jsonl'.*sentiment_train.jsonl"
    ):
        sample_path("sentiment.jsonl")


def test_paths_outside_the_samples_folder_are_refused():
    with pytest.raises(FileNotFoundError, match="Available samples"):
        sample_path("../samples.py")


def test_the_semantic_search_samples_are_what_their_script_writes():
    """scripts/make_semantic_search_samples.py regenerates them exactly."""
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, os.path.join(root, "scripts",
                                      "make_semantic_search_samples.py"),
         "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_translation_samples_are_what_their_script_writes():
    """scripts/make_translation_samples.py regenerates them exactly, and
    its rules give the documented example."""
    import importlib.util
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    script = os.path.join(root, "scripts", "make_translation_samples.py")
    result = subprocess.run([sys.executable, script, "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    spec = importlib.util.spec_from_file_location("make_translation", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    phrase = {"noun": module.AGENTS[0], "plural": False, "definite": True,
              "adjective": module.ADJECTIVES[0], "case": None}
    assert module.translate({
        "subject": phrase, "verb": module.INTRANSITIVE[0], "object": None,
        "place": None, "tense": "present"}) == (
        "The big dog sleeps.", "Vaku grana ta dorme.")


def test_the_summarization_samples_are_what_their_script_writes():
    """scripts/make_summarization_samples.py regenerates them exactly, and
    no headline is a sentence of its report."""
    import json
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    script = os.path.join(root, "scripts", "make_summarization_samples.py")
    result = subprocess.run([sys.executable, script, "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(sample_path("summarization_train.jsonl")) as file:
        rows = [json.loads(line) for line in file]
    assert len(rows) == 1200
    for row in rows:
        assert row["summary"] not in row["document"]
