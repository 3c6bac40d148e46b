"""Tests `load_tfds` against real TFDS builders reading real prepared data.

No TFDS mocks: the `prepared_dir` fixture writes prepared TFDS dataset
directories for the real dataset names, configs and versions (e.g.
`glue/sst2/2.0.0`), and `load_tfds` reads them through the real builders.

The fixture cannot run `download_and_prepare` itself: TFDS only takes raw
files from its download step, which checks the files against the
registered checksums of the originals (and needs the network), so tiny
local files cannot pass through it without faking the download. Instead
it (1) parses small raw files in the original formats
(tests/data/fixtures/tfds_raw) with each real builder's own example
generator, the code TFDS's preparation runs on the downloaded files,
(2) writes the examples as a TFRecord shard serialized with the builder's
`info.features`, and (3) adds the metadata with
`tfds.folder_dataset.write_metadata`.
"""

import json
import os
import pathlib
import tarfile
import time

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tfzoo.data import read_conll
from tfzoo.data import read_squad
from tfzoo.data import tfds_loaders
from tfzoo.data.tfds_loaders import SUPPORTED_TFDS_DATASETS
from tfzoo.data.tfds_loaders import DatasetNotPreparedError
from tfzoo.data.tfds_loaders import label_names
from tfzoo.data.tfds_loaders import load_tfds

RAW = pathlib.Path(__file__).parent / "fixtures" / "tfds_raw"

IMDB_REVIEWS = {
    "aclImdb/train/pos/0_9.txt": "A warm, clever film with a great cast.",
    "aclImdb/train/neg/1_2.txt": "Two hours I will never get back.",
    "aclImdb/train/pos/2_8.txt": "The score alone is worth the ticket.",
    "aclImdb/test/neg/3_1.txt": "Flat jokes and a plot full of holes.",
    "aclImdb/test/pos/4_10.txt": "I laughed, then cried, then laughed again.",
}


def write_prepared_dataset(data_dir, tfds_name, split_examples):
    """Writes a prepared TFDS dataset that `tfds.builder` can read.

    `split_examples(builder)` returns `{split: [(key, example), ...]}` for
    the real builder of `tfds_name` in `data_dir`.
    """
    builder = tfds.builder(tfds_name, data_dir=data_dir)
    assert not builder.is_prepared()
    variant_dir = builder.data_path  # data_dir/name/config/version
    variant_dir.mkdir(parents=True)
    features = builder.info.features
    for split, keyed_examples in split_examples(builder).items():
        shard = variant_dir / f"{builder.name}-{split}.tfrecord-00000-of-00001"
        with tf.io.TFRecordWriter(os.fspath(shard)) as writer:
            for _, example in keyed_examples:
                writer.write(features.serialize_example(example))
    tfds.folder_dataset.write_metadata(
        data_dir=variant_dir, features=features, check_data=False
    )


def sst2_splits(builder):
    return {
        split: list(
            builder._generate_examples(
                data_file=RAW / "SST-2" / f"{raw}.tsv", split=raw
            )
        )
        for split, raw in [
            ("train", "train"),
            ("validation", "dev"),
            ("test", "test"),
        ]
    }


def stsb_splits(builder):
    return {
        split: list(
            builder._generate_examples(
                data_file=RAW / "STS-B" / f"{raw}.tsv", split=raw
            )
        )
        for split, raw in [
            ("train", "train"),
            ("validation", "dev"),
            ("test", "test"),
        ]
    }


def mrpc_splits(builder):
    files = {
        "dev_ids": RAW / "MRPC" / "mrpc_dev_ids.tsv",
        "train": RAW / "MRPC" / "msr_paraphrase_train.txt",
        "test": RAW / "MRPC" / "msr_paraphrase_test.txt",
    }
    return {
        split: list(
            builder._generate_examples(
                data_file=None, split=raw, mrpc_files=files
            )
        )
        for split, raw in [
            ("train", "train"),
            ("validation", "dev"),
            ("test", "test"),
        ]
    }


def imdb_splits(builder, archive_path):
    def examples(directory):
        archive = tfds.download.iter_archive(
            archive_path, tfds.download.ExtractMethod.TAR_GZ
        )
        return list(
            builder._generate_examples(archive=archive, directory=directory)
        )

    return {
        "train": examples(os.path.join("aclImdb", "train")),
        "test": examples(os.path.join("aclImdb", "test")),
    }


def write_imdb_archive(path):
    """Writes a tar.gz laid out like the original aclImdb_v1.tar.gz."""
    with tarfile.open(path, "w:gz") as archive:
        for name, text in IMDB_REVIEWS.items():
            member = path.parent / "imdb_staging" / name
            member.parent.mkdir(parents=True, exist_ok=True)
            member.write_text(text + "\n", encoding="utf-8")
            archive.add(member, arcname=name)
    return path


@pytest.fixture(scope="module")
def prepared_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds_data")
    write_prepared_dataset(data_dir, "glue/sst2", sst2_splits)
    write_prepared_dataset(data_dir, "glue/mrpc", mrpc_splits)
    write_prepared_dataset(data_dir, "glue/stsb", stsb_splits)
    archive = write_imdb_archive(
        tmp_path_factory.mktemp("imdb_raw") / "aclImdb_v1.tar.gz"
    )
    write_prepared_dataset(
        data_dir,
        "imdb_reviews/plain_text",
        lambda builder: imdb_splits(builder, archive),
    )
    write_prepared_dataset(
        data_dir,
        "conll2003/conll2003",
        lambda builder: {
            "train": list(
                builder._generate_examples(RAW / "conll2003" / "train.txt")
            )
        },
    )
    write_prepared_dataset(
        data_dir,
        "squad/v1.1",
        lambda builder: {
            "validation": list(
                builder._generate_examples(RAW / "squad" / "dev-v1.1.json")
            )
        },
    )
    return data_dir


def as_python(dataset):
    """Lists a dataset's examples as dicts of Python values."""

    def convert(value):
        if isinstance(value, bytes):
            return value.decode("utf-8")
        if hasattr(value, "tolist"):
            return convert(value.tolist())
        if isinstance(value, list):
            return [convert(item) for item in value]
        return value

    return [
        {key: convert(value) for key, value in example.items()}
        for example in tfds.as_numpy(dataset)
    ]


def test_supported_names():
    assert SUPPORTED_TFDS_DATASETS == (
        "glue/sst2",
        "glue/mrpc",
        "glue/stsb",
        "imdb_reviews",
        "conll2003",
        "squad",
        # Tested in test_tfds_translation.py.
        "wmt14_translate/de-en",
        "wmt_t2t_translate/de-en",
        "ted_hrlr_translate/pt_to_en",
        # billsum is tested in tests/recipes/test_t5_summarize.py.
        "cnn_dailymail",
        "gigaword",
        "billsum",
        "xsum",
    )


def test_fixture_is_a_real_prepared_tfds_dataset(prepared_dir):
    builder = tfds.builder("glue/sst2", data_dir=prepared_dir)
    assert builder.is_prepared()
    assert builder.info.full_name == "glue/sst2/2.0.0"
    assert builder.info.splits["train"].num_examples == 3
    info = json.loads(
        (builder.data_path / "dataset_info.json").read_text(encoding="utf-8")
    )
    assert info["version"] == "2.0.0"
    raw = tfds.load("glue/sst2", split="validation", data_dir=prepared_dir)
    assert sorted(as_python(raw), key=lambda e: e["idx"]) == [
        {
            "idx": 0,
            "label": 0,
            "sentence": "the plot wanders off and never returns ",
        },
        {"idx": 1, "label": 1, "sentence": "sharp , funny and kind "},
    ]


def test_sst2(prepared_dir):
    train = load_tfds("glue/sst2", "train", data_dir=prepared_dir)
    assert train.element_spec == {
        "text": tf.TensorSpec([], tf.string),
        "label": tf.TensorSpec([], tf.int32),
    }
    assert sorted(as_python(train), key=lambda e: e["text"]) == [
        {"text": "a limp , forgettable sequel ", "label": 0},
        {"text": "every scene glows ", "label": 1},
        {"text": "the orchestra plays with warmth and wit ", "label": 1},
    ]
    # GLUE test labels are not public: TFDS stores -1.
    test = as_python(load_tfds("glue/sst2", "test", data_dir=prepared_dir))
    assert sorted((e["text"], e["label"]) for e in test) == [
        ("quiet but gripping ", -1),
        ("the jokes land nowhere ", -1),
    ]


def test_sst2_split_slice_and_download_true_when_prepared(prepared_dir):
    # download=True does nothing (and needs no network) once prepared.
    dataset = load_tfds(
        "glue/sst2", "train[:2]", data_dir=prepared_dir, download=True
    )
    assert len(as_python(dataset)) == 2


def test_mrpc(prepared_dir):
    train = load_tfds("glue/mrpc", "train", data_dir=prepared_dir)
    assert train.element_spec == {
        "text": tf.TensorSpec([], tf.string),
        "text_pair": tf.TensorSpec([], tf.string),
        "label": tf.TensorSpec([], tf.int32),
    }
    assert sorted(as_python(train), key=lambda e: e["text"]) == [
        {
            "text": "Rain delayed the match by an hour.",
            "text_pair": "The stadium sold out in minutes.",
            "label": 0,
        },
        {
            "text": "The council approved the budget on Monday.",
            "text_pair": "On Monday the council passed the budget.",
            "label": 1,
        },
    ]
    validation = as_python(
        load_tfds("glue/mrpc", "validation", data_dir=prepared_dir)
    )
    assert sorted((e["text"], e["label"]) for e in validation) == [
        ("Shares rose 3 percent after the report.", 1),
        ("The museum opens at nine.", 0),
    ]


def test_stsb_scores_are_floats_and_the_test_split_has_none(prepared_dir):
    train = load_tfds("glue/stsb", "train", data_dir=prepared_dir)
    assert train.element_spec == {
        "text": tf.TensorSpec([], tf.string),
        "text_pair": tf.TensorSpec([], tf.string),
        "score": tf.TensorSpec([], tf.float32),
    }
    examples = sorted(as_python(train), key=lambda e: e["text"])
    assert [(e["text"], e["text_pair"]) for e in examples] == [
        ("A heron stands in shallow water.",
         "A grey bird is standing in a pond."),
        ("City council delays vote on tram line.",
         "Tram plan vote pushed back by council."),
        ("The kettle is on the stove.",
         "The match was cancelled because of snow."),
    ]
    assert [e["score"] for e in examples] == pytest.approx([4.2, 4.75, 0.0])
    validation = as_python(
        load_tfds("glue/stsb", "validation", data_dir=prepared_dir))
    assert sorted(e["score"] for e in validation) == pytest.approx([1.6, 5.0])
    # STS-B test scores are not public: TFDS stores -1.
    (test,) = as_python(load_tfds("glue/stsb", "test", data_dir=prepared_dir))
    assert test["text"] == "Ferry service resumes after storm."
    assert test["score"] == -1.0


def test_imdb_reviews(prepared_dir):
    train = load_tfds("imdb_reviews", "train", data_dir=prepared_dir)
    assert train.element_spec == {
        "text": tf.TensorSpec([], tf.string),
        "label": tf.TensorSpec([], tf.int32),
    }
    assert sorted(as_python(train), key=lambda e: e["text"]) == [
        {"text": "A warm, clever film with a great cast.", "label": 1},
        {"text": "The score alone is worth the ticket.", "label": 1},
        {"text": "Two hours I will never get back.", "label": 0},
    ]
    test = load_tfds("imdb_reviews/plain_text", "test", data_dir=prepared_dir)
    assert len(as_python(test)) == 2


def test_conll2003_matches_read_conll_on_the_same_raw_file(prepared_dir):
    train = load_tfds("conll2003", "train", data_dir=prepared_dir)
    assert train.element_spec == {
        "tokens": tf.TensorSpec([None], tf.string),
        "tags": tf.TensorSpec([None], tf.string),
    }
    examples = as_python(train)
    assert {"tokens": ["Kessler", "won"], "tags": ["B-PER", "O"]} in examples
    sentences, tags, _ = read_conll(RAW / "conll2003" / "train.txt")
    assert sorted((e["tokens"], e["tags"]) for e in examples) == sorted(
        zip(sentences, tags)
    )


def test_squad_matches_read_squad_on_the_same_raw_file(prepared_dir):
    validation = load_tfds("squad", "validation", data_dir=prepared_dir)
    assert validation.element_spec == {
        "id": tf.TensorSpec([], tf.string),
        "title": tf.TensorSpec([], tf.string),
        "question": tf.TensorSpec([], tf.string),
        "context": tf.TensorSpec([], tf.string),
        "answer_texts": tf.TensorSpec([None], tf.string),
        "answer_starts": tf.TensorSpec([None], tf.int32),
    }
    examples = {e["id"]: e for e in as_python(validation)}
    first = examples["q-0001"]
    assert first["title"] == "Harbor_Town"
    assert first["question"] == "When was Harbor Town founded?"
    assert first["answer_texts"] == ["1742", "1742", "founded in 1742"]
    assert first["answer_starts"] == [27, 27, 16]
    expected, _ = read_squad(RAW / "squad" / "dev-v1.1.json")
    assert sorted(examples) == sorted(e["id"] for e in expected)
    for reference in expected:
        example = examples[reference["id"]]
        for key in ("title", "question", "context"):
            assert example[key] == reference[key]
        answers = [
            (answer["text"], answer["answer_start"])
            for answer in reference["answers"]
        ]
        starts = example["answer_starts"]
        assert list(zip(example["answer_texts"], starts)) == answers
        for text, start in answers:
            assert example["context"][start : start + len(text)] == text


def test_label_names_from_prepared_metadata(prepared_dir):
    assert label_names("glue/sst2", prepared_dir) == ["negative", "positive"]
    assert label_names("glue/mrpc", prepared_dir) == [
        "not_equivalent",
        "equivalent",
    ]
    assert label_names("imdb_reviews", prepared_dir) == ["neg", "pos"]
    assert label_names("conll2003", prepared_dir) == [
        "O",
        "B-PER",
        "I-PER",
        "B-ORG",
        "I-ORG",
        "B-LOC",
        "I-LOC",
        "B-MISC",
        "I-MISC",
    ]
    # The prepared data's label file is what TFDS reads them from.
    label_file = (
        tfds.builder("glue/sst2", data_dir=prepared_dir).data_path
        / "label.labels.txt"
    )
    assert label_file.read_text().split() == ["negative", "positive"]


def test_label_names_without_prepared_data_and_for_squad(tmp_path):
    assert label_names("glue/sst2", tmp_path) == ["negative", "positive"]
    with pytest.raises(ValueError, match="no class labels"):
        label_names("squad", tmp_path)
    with pytest.raises(ValueError, match="similarity with a score from 0 "
                       "to 5 and has no class labels"):
        label_names("glue/stsb", tmp_path)


def test_missing_dataset_gives_clear_error(tmp_path):
    with pytest.raises(DatasetNotPreparedError) as raised:
        load_tfds("glue/sst2", "train", data_dir=tmp_path)
    message = str(raised.value)
    assert isinstance(raised.value, RuntimeError)
    assert "download=False" in message
    assert f"tfds build glue/sst2 --data_dir={tmp_path}" in message
    assert "download=True" in message
    assert "tfzoo.data.read_classification_file" in message
    assert list(tmp_path.iterdir()) == []  # Nothing was created.

    with pytest.raises(DatasetNotPreparedError, match="read_conll"):
        load_tfds("conll2003", "train", data_dir=tmp_path)
    with pytest.raises(DatasetNotPreparedError,
                       match=r"(?s)glue/stsb.*tfzoo\.data\.read_pair_file"):
        load_tfds("glue/stsb", "train", data_dir=tmp_path)
    expected = r"(?s)tfds build squad/v1\.1 .*tfzoo\.data\.read_squad"
    with pytest.raises(DatasetNotPreparedError, match=expected):
        load_tfds("squad", "validation", data_dir=tmp_path)


def test_unsupported_name_lists_supported_ones(tmp_path):
    with pytest.raises(ValueError) as raised:
        load_tfds("glue/cola", "train", data_dir=tmp_path)
    for name in SUPPORTED_TFDS_DATASETS:
        assert name in str(raised.value)
    with pytest.raises(ValueError, match="Unsupported"):
        label_names("mnist")


def test_unknown_split_is_a_value_error(prepared_dir):
    with pytest.raises(ValueError, match="Unknown split"):
        load_tfds("conll2003", "validation", data_dir=prepared_dir)


def test_download_without_network_fails_fast(tmp_path, monkeypatch):
    # Simulates a machine without network whatever this one has.
    def unreachable(address, *args, **kwargs):
        raise OSError(f"no route to {address[0]}")

    monkeypatch.setattr(tfds_loaders.socket, "create_connection", unreachable)
    monkeypatch.setattr(tfds_loaders.urllib.request, "getproxies", dict)
    start = time.monotonic()
    with pytest.raises(DatasetNotPreparedError, match="no network") as raised:
        load_tfds("conll2003", "train", data_dir=tmp_path, download=True)
    assert time.monotonic() - start < 10
    assert "tfds build conll2003/conll2003" in str(raised.value)
    assert not tfds.builder("conll2003", data_dir=tmp_path).is_prepared()


def test_hosts_under_the_invalid_tld_are_unreachable(monkeypatch):
    monkeypatch.setattr(tfds_loaders.urllib.request, "getproxies", dict)
    assert not tfds_loaders._any_host_reachable(("tfzoo.invalid",), 1.0)


@pytest.mark.skipif(
    tfds_loaders._any_host_reachable(("dl.fbaipublicfiles.com",), 2.0),
    reason="this machine has network: download=True would really download",
)
def test_download_true_really_offline(tmp_path):
    start = time.monotonic()
    with pytest.raises(DatasetNotPreparedError, match="no network"):
        load_tfds("glue/sst2", "train", data_dir=tmp_path, download=True)
    assert time.monotonic() - start < 30
