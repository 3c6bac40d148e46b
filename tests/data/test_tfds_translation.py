"""`load_tfds` on the translation sets, through the real TFDS builders
reading real prepared data (no mocks), as tests/data/test_tfds_loaders.py
does for the other sets: small raw files in the originals' formats and
layout (WMT's news-commentary text files and newstest SGML, TED's
line-aligned `pt.train`/`en.train` files) are parsed by each builder's
own example generator, written as a TFRecord shard with the builder's
features, and given TFDS metadata."""

import pytest
import tensorflow_datasets as tfds

from tests.data.test_tfds_loaders import as_python, write_prepared_dataset
from tfzoo.data import load_tfds, read_parallel_file, translation_languages
from tfzoo.data.tfds_loaders import SUPPORTED_TFDS_DATASETS
from tfzoo.data.tfds_loaders import DatasetNotPreparedError, label_names

NEWS = [("Der Hafen öffnet um sieben.", "The harbour opens at seven."),
        ("Die Brücke bleibt gesperrt.", "The bridge stays closed."),
        ("", "A line whose German side is empty is left out.")]
DEV = [("Es regnet in Bremen.", "It is raining in Bremen.")]
TEST = [("Der Zug kam pünktlich an.", "The train arrived on time."),
        ("Wir sehen uns morgen.", "See you tomorrow.")]
TED = {"train": [("o rio está calmo .", "the river is calm ."),
                 ("obrigado a todos .", "thank you all .")],
       "dev": [("bom dia .", "good morning .")],
       "test": [("a ponte é velha .", "the bridge is old .")]}


def write_lines(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def write_sgm(path, sentences, language):
    segments = "\n".join(f'<seg id="{i + 1}">{text}</seg>'
                         for i, text in enumerate(sentences))
    write_lines(path, [
        f'<srcset setid="newstest2014" srclang="any" trglang="{language}">',
        '<doc sysid="ref" docid="1" origlang="de">', segments, "</doc>",
        "</srcset>"])


def wmt_raw(directory, news_version):
    """Files laid out as in WMT's archives (the builder's subset paths)."""
    news = {"v9": "training/news-commentary-v9.de-en",
            "v13": "training-parallel-nc-v13/news-commentary-v13.de-en"}
    for index, language in enumerate(("de", "en")):
        write_lines(directory / f"{news[news_version]}.{language}",
                    [pair[index] for pair in NEWS])
        write_lines(directory / f"dev/newstest2013.{language}",
                    [pair[index] for pair in DEV])
    write_sgm(directory / "dev/newstest2014-deen-src.de.sgm",
              [de for de, _ in TEST], "de")
    write_sgm(directory / "dev/newstest2014-deen-ref.en.sgm",
              [en for _, en in TEST], "en")
    return directory


def wmt_splits(raw, train_subset):
    def splits(builder):
        return {
            split: list(builder._generate_examples(
                split_subsets=[subset], extraction_map={subset: [str(raw)]}))
            for split, subset in (("train", train_subset),
                                  ("validation", "newstest2013"),
                                  ("test", "newstest2014"))
        }
    return splits


def ted_splits(raw):
    directory = raw / "datasets" / "pt_to_en"
    for split, pairs in TED.items():
        write_lines(directory / f"pt.{split}", [pt for pt, _ in pairs])
        write_lines(directory / f"en.{split}", [en for _, en in pairs])

    def splits(builder):
        return {
            name: list(builder._generate_examples(
                source_file=str(directory / f"pt.{split}"),
                target_file=str(directory / f"en.{split}")))
            for name, split in (("train", "train"), ("validation", "dev"),
                                ("test", "test"))
        }
    return splits


@pytest.fixture(scope="module")
def prepared_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds_translation")
    write_prepared_dataset(data_dir, "wmt14_translate/de-en", wmt_splits(
        wmt_raw(tmp_path_factory.mktemp("wmt14_raw"), "v9"),
        "newscommentary_v9"))
    write_prepared_dataset(data_dir, "wmt_t2t_translate/de-en", wmt_splits(
        wmt_raw(tmp_path_factory.mktemp("wmt_t2t_raw"), "v13"),
        "newscommentary_v13"))
    write_prepared_dataset(data_dir, "ted_hrlr_translate/pt_to_en",
                           ted_splits(tmp_path_factory.mktemp("ted_raw")))
    return data_dir


def pairs(dataset, source, target):
    return sorted((e[source], e[target]) for e in as_python(dataset))


@pytest.mark.parametrize("name", ["wmt14_translate/de-en",
                                  "wmt_t2t_translate/de-en"])
def test_wmt_splits_are_the_news_files(prepared_dir, name):
    assert tfds.builder(name, data_dir=prepared_dir).is_prepared()
    train = load_tfds(name, "train", data_dir=prepared_dir)
    assert set(train.element_spec) == {"de", "en"}
    # The builder leaves out pairs with an empty side.
    assert pairs(train, "de", "en") == sorted(NEWS[:2])
    assert pairs(load_tfds(name, "validation", data_dir=prepared_dir),
                 "de", "en") == DEV
    # newstest2014, read from its SGML files.
    assert pairs(load_tfds(name, "test", data_dir=prepared_dir),
                 "de", "en") == sorted(TEST)


def test_ted_portuguese_to_english(prepared_dir):
    name = "ted_hrlr_translate/pt_to_en"
    assert translation_languages(name) == ("pt", "en")
    for split, raw in (("train", "train"), ("validation", "dev"),
                       ("test", "test")):
        assert pairs(load_tfds(name, split, data_dir=prepared_dir),
                     "pt", "en") == sorted(TED[raw])


def test_the_sets_are_listed_and_have_no_labels(tmp_path):
    for name in ("wmt14_translate/de-en", "wmt_t2t_translate/de-en",
                 "ted_hrlr_translate/pt_to_en"):
        assert name in SUPPORTED_TFDS_DATASETS
        with pytest.raises(ValueError, match="is translation and has no "
                                             "class labels"):
            label_names(name, tmp_path)
    assert translation_languages("wmt14_translate/de-en") == ("de", "en")
    with pytest.raises(ValueError, match="glue/mrpc is not a translation "
                                         "set"):
        translation_languages("glue/mrpc")
    with pytest.raises(ValueError, match="Unsupported TFDS dataset "
                                         "'wmt19_translate/de-en'.*"
                                         "read_parallel_file"):
        translation_languages("wmt19_translate/de-en")


def test_not_prepared_names_the_fix(tmp_path):
    with pytest.raises(DatasetNotPreparedError, match=(
            r"(?s)'wmt14_translate/de-en'.*tfds build "
            r"wmt14_translate/de-en.*read_parallel_file")):
        load_tfds("wmt14_translate/de-en", "train", data_dir=tmp_path)


def test_a_local_copy_reads_the_same_pairs(tmp_path):
    # The fallback the error suggests: the same sentences as a TSV file.
    path = tmp_path / "newstest.tsv"
    path.write_text("de\ten\n" + "".join(f"{de}\t{en}\n" for de, en in TEST),
                    encoding="utf-8")
    parallel, _ = read_parallel_file(path, source_language="de")
    assert list(zip(parallel.sources, parallel.targets)) == TEST
