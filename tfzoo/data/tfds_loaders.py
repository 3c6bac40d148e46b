"""Loads GLUE SST-2/MRPC/STS-B, IMDB, CoNLL-2003, SQuAD v1.1, WMT/TED
translation and news/bill summarisation sets through TFDS.

`load_tfds(name, split)` reads a prepared TensorFlow Datasets (TFDS) dataset
and maps each example to the feature dict tfzoo's pipelines use, returning
an unbatched `tf.data.Dataset`:

=============  ========================================================
name           example
=============  ========================================================
glue/sst2      {"text", "label"}
glue/mrpc      {"text", "text_pair", "label"}
glue/stsb      {"text", "text_pair", "score"}  (float32, 0 to 5)
imdb_reviews   {"text", "label"}
conll2003      {"tokens", "tags"}  (tags are BIO names such as "B-PER")
squad          {"id", "title", "question", "context", "answer_texts",
               "answer_starts"}  (SQuAD v1.1)
wmt14_translate/de-en, wmt_t2t_translate/de-en
               {"de", "en"}  (German and English sentences)
ted_hrlr_translate/pt_to_en
               {"pt", "en"}  (Portuguese and English sentences)
cnn_dailymail, gigaword, billsum, xsum
               {"document", "summary"}  (cnn_dailymail's article and
               highlights, billsum's text; xsum needs its manual
               download prepared)
=============  ========================================================

`translation_languages(name)` gives a translation set's language codes
(the keys of its examples).

Labels are int32 class ids; `label_names(name)` gives the class names in id
order (GLUE test splits have no public labels: TFDS stores -1 there, and
-1.0 as the STS-B test score).

With internet access, let TFDS download and prepare the data on first use
(it is cached in `data_dir`, by default `~/tensorflow_datasets` or
`$TFDS_DATA_DIR`)::

    from tfzoo.data.tfds_loaders import load_tfds
    train = load_tfds("glue/sst2", "train", download=True)
    for example in train.take(1):
        print(example["text"], example["label"])

Without internet, prepare the dataset once on a machine that has it, with
the TFDS command line tool (`tfds build glue/sst2 --data_dir=/data/tfds`) or
in Python (`tfds.load("glue/sst2", data_dir="/data/tfds", download=True)`),
copy `/data/tfds` over and call `load_tfds("glue/sst2", "train",
data_dir="/data/tfds")`. Alternatively read the raw files with tfzoo's own
readers (`read_classification_file`, `read_conll`, `read_squad`).

Nothing is downloaded unless `download=True`. When the data is missing, or
downloading it fails, a `DatasetNotPreparedError` (a `RuntimeError`) says
which of the above to do; without network it fails within seconds rather
than after TFDS's minutes of retries. TFDS 4.9.x needs the
`importlib_resources` package to prepare data but does not install it on
Python >= 3.9 (tensorflow/datasets issue #11212): `pip install
importlib_resources` if the error says so. TFDS and TensorFlow are
imported on first use, so importing this module stays cheap.
"""

import socket
import urllib.parse
import urllib.request

SUPPORTED_TFDS_DATASETS = (
    "glue/sst2",
    "glue/mrpc",
    "glue/stsb",
    "imdb_reviews",
    "conll2003",
    "squad",
    "wmt14_translate/de-en",
    "wmt_t2t_translate/de-en",
    "ted_hrlr_translate/pt_to_en",
    "cnn_dailymail",
    "gigaword",
    "billsum",
    "xsum",
)

# Translation sets: their language codes, the keys of each example.
TRANSLATION_LANGUAGES = {
    "wmt14_translate/de-en": ("de", "en"),
    "wmt_t2t_translate/de-en": ("de", "en"),
    "ted_hrlr_translate/pt_to_en": ("pt", "en"),
}

# Summarisation sets: the features holding the document and its summary.
SUMMARIZATION_FEATURES = {
    "cnn_dailymail": ("article", "highlights"),
    "gigaword": ("document", "summary"),
    "billsum": ("text", "summary"),
    "xsum": ("document", "summary"),
}

# Sets without class labels.
NO_LABELS = ("squad", "glue/stsb", *TRANSLATION_LANGUAGES,
             *SUMMARIZATION_FEATURES)

# The exact TFDS builder name (with config) behind each supported name.
_TFDS_NAMES = {
    "glue/sst2": "glue/sst2",
    "glue/mrpc": "glue/mrpc",
    "glue/stsb": "glue/stsb",
    "imdb_reviews": "imdb_reviews/plain_text",
    "conll2003": "conll2003/conll2003",
    "squad": "squad/v1.1",
    **{name: name for name in TRANSLATION_LANGUAGES},
    **{name: name for name in SUMMARIZATION_FEATURES},
}
_ALIASES = {
    tfds_name: name for name, tfds_name in _TFDS_NAMES.items()
}

# tfzoo reader to suggest for local copies of each dataset.
_LOCAL_READERS = {
    "glue/sst2": "read_classification_file",
    "glue/mrpc": "read_classification_file",
    "glue/stsb": "read_pair_file",
    "imdb_reviews": "read_classification_file",
    "conll2003": "read_conll",
    "squad": "read_squad",
    **{name: "read_parallel_file" for name in TRANSLATION_LANGUAGES},
    **{name: "read_summarization_file" for name in SUMMARIZATION_FEATURES},
}

# Where TFDS downloads each dataset from; used when TFDS has no URL list
# (checksums file) for it or cannot read it (see `_download_hosts`).
_FALLBACK_DOWNLOAD_HOSTS = {
    "glue/sst2": ("dl.fbaipublicfiles.com",),
    "glue/mrpc": ("dl.fbaipublicfiles.com", "firebasestorage.googleapis.com"),
    "glue/stsb": ("dl.fbaipublicfiles.com",),
    "imdb_reviews": ("ai.stanford.edu",),
    "conll2003": ("data.deepai.org",),
    "squad": ("rajpurkar.github.io",),
    "wmt14_translate/de-en": ("www.statmt.org", "data.statmt.org"),
    "wmt_t2t_translate/de-en": ("www.statmt.org", "data.statmt.org"),
    "ted_hrlr_translate/pt_to_en": ("www.phontron.com",),
    "cnn_dailymail": ("raw.githubusercontent.com",
                      "huggingface.co"),
    "gigaword": ("drive.google.com",),
    "billsum": ("drive.google.com",),
    "xsum": ("raw.githubusercontent.com",),
}


class DatasetNotPreparedError(RuntimeError):
    """A TFDS dataset is not prepared locally and could not be downloaded."""


def load_tfds(name, split, data_dir=None, download=False):
    """Returns the unbatched `tf.data.Dataset` of one TFDS split.

    Args:
      name: one of `SUPPORTED_TFDS_DATASETS` (the explicit TFDS names
        "imdb_reviews/plain_text", "conll2003/conll2003" and "squad/v1.1"
        are accepted too).
      split: a TFDS split, e.g. "train", "validation", "test", or a slice
        such as "train[:10%]". Splits: glue/* train/validation/test;
        imdb_reviews train/test/unsupervised (label -1); conll2003
        train/dev/test; squad train/validation; the translation sets
        train/validation/test.
      data_dir: the TFDS data directory; None uses TFDS's default.
      download: if True and the dataset is not prepared in `data_dir`, let
        TFDS download and prepare it (needs internet). If False, nothing is
        downloaded.

    Returns:
      A `tf.data.Dataset` of dicts as listed in the module docstring, in
      the order stored on disk (files are not shuffled).

    Raises:
      ValueError: for an unsupported name or an unknown split.
      DatasetNotPreparedError: when the dataset is not prepared in
        `data_dir` and `download` is False, or the download fails.
    """
    key = _supported_name(name)
    builder = _builder(key, data_dir)
    if not builder.is_prepared():
        if not download:
            raise DatasetNotPreparedError(
                _not_prepared_message(
                    key,
                    builder,
                    f"it is not prepared in {_data_dir_text(builder)} and "
                    f"download=False",
                )
            )
        _download_and_prepare(key, builder)
    dataset = builder.as_dataset(split=split, shuffle_files=False)
    return dataset.map(_example_mapper(key, builder))


def label_names(name, data_dir=None):
    """Returns the class names of a dataset's labels, in class id order.

    For conll2003 these are the NER tags ("O", "B-PER", ...). The names are
    read from the TFDS builder's `info.features`: from the prepared data's
    metadata when the dataset is prepared in `data_dir`, otherwise from the
    TFDS dataset definition (the same names TFDS uses when preparing), so
    no data is needed. squad and glue/stsb have no class labels: ValueError.

    >>> label_names("glue/mrpc")
    ['not_equivalent', 'equivalent']
    """
    key = _supported_name(name)
    if key in NO_LABELS:
        kind = ("extractive question answering" if key == "squad" else
                "translation" if key in TRANSLATION_LANGUAGES else
                "summarisation" if key in SUMMARIZATION_FEATURES else
                "sentence similarity with a score from 0 to 5")
        raise ValueError(
            f"{key} is {kind} and has no class labels. Fix: use "
            f"label_names with one of "
            f"{[n for n in SUPPORTED_TFDS_DATASETS if n not in NO_LABELS]}."
        )
    features = _builder(key, data_dir).info.features
    if key == "conll2003":
        return list(features["ner"].feature.names)
    return list(features["label"].names)


def translation_languages(name):
    """The language codes of a translation set: the keys of its examples.

    >>> translation_languages("ted_hrlr_translate/pt_to_en")
    ('pt', 'en')
    >>> translation_languages("glue/sst2")
    Traceback (most recent call last):
    ...
    ValueError: glue/sst2 is not a translation set. Fix: use one of wmt14_translate/de-en, wmt_t2t_translate/de-en, ted_hrlr_translate/pt_to_en.
    """
    key = _supported_name(name)
    if key not in TRANSLATION_LANGUAGES:
        raise ValueError(
            f"{key} is not a translation set. Fix: use one of "
            f"{', '.join(TRANSLATION_LANGUAGES)}."
        )
    return TRANSLATION_LANGUAGES[key]


def _supported_name(name):
    if name in _TFDS_NAMES:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    raise ValueError(
        f"Unsupported TFDS dataset {name!r}. Supported: "
        f"{', '.join(SUPPORTED_TFDS_DATASETS)}. Fix: pass one of these, or "
        f"read your own files with tfzoo.data.read_classification_file, "
        f"read_conll, read_squad or read_parallel_file."
    )


def _tfds():
    import tensorflow_datasets

    return tensorflow_datasets


def _builder(key, data_dir):
    return _tfds().builder(_TFDS_NAMES[key], data_dir=data_dir)


def _data_dir_text(builder):
    root = str(builder.data_dir_root)
    return f"data_dir {root!r} (looked in {builder.data_dir})"


def _not_prepared_message(key, builder, reason):
    tfds_name = _TFDS_NAMES[key]
    root = str(builder.data_dir_root)
    return (
        f"Cannot load TFDS dataset {key!r} ({tfds_name}, version "
        f"{builder.version}): {reason}. Fix, either:\n"
        f"  * on a machine with internet, prepare it once with "
        f"`tfds build {tfds_name} --data_dir={root}` (or in Python "
        f"`tfds.load({tfds_name!r}, data_dir={root!r}, download=True)`), "
        f"copy that data_dir here and pass it as data_dir; with internet "
        f"here, load_tfds({key!r}, split, download=True) does this;\n"
        f"  * or read local files with tfzoo.data.{_LOCAL_READERS[key]}."
    )


def _download_and_prepare(key, builder):
    """Runs TFDS's download and preparation; failures become clear errors."""
    hosts = _download_hosts(key, builder)
    if not _any_host_reachable(hosts):
        raise DatasetNotPreparedError(
            _not_prepared_message(
                key,
                builder,
                f"download=True but there is no network: none of its "
                f"download hosts {list(hosts)} can be reached",
            )
        )
    from tensorflow_datasets.core.download.download_manager import (
        NonMatchingChecksumError,
    )

    download_error = _tfds().download.DownloadError
    try:
        builder.download_and_prepare()
    except ModuleNotFoundError as error:
        if error.name != "importlib_resources":
            raise
        raise DatasetNotPreparedError(
            _not_prepared_message(
                key,
                builder,
                "TFDS needs the `importlib_resources` package to download "
                "and prepare datasets but it is not installed (a missing "
                "TFDS dependency, tensorflow/datasets issue #11212); `pip "
                "install importlib_resources` fixes that",
            )
        ) from error
    except (OSError, download_error, NonMatchingChecksumError) as error:
        # requests' ConnectionError/HTTPError and urllib's URLError are
        # OSErrors too.
        raise DatasetNotPreparedError(
            _not_prepared_message(
                key,
                builder,
                f"download=True but downloading or preparing it failed: "
                f"{type(error).__name__}: {error}",
            )
        ) from error


def _download_hosts(key, builder):
    """The hosts TFDS downloads this dataset (or its siblings) from."""
    try:
        urls = list(builder.url_infos or ())
    except Exception:  # noqa: BLE001 - TFDS cannot list them; use ours.
        urls = []
    hosts = sorted(
        {urllib.parse.urlsplit(url).hostname for url in urls} - {None, ""}
    )
    return tuple(hosts) or _FALLBACK_DOWNLOAD_HOSTS[key]


def _any_host_reachable(hosts, timeout=5.0):
    """Whether a download could start: a proxy is set or a host answers.

    TFDS's downloader sets no timeout and retries failed connections ten
    times with backoff, so without a network it only fails after minutes;
    this check fails within `timeout` seconds per host.
    """
    if urllib.request.getproxies():
        return True  # Hosts may only be reachable through the proxy.
    for host in hosts:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
        except (OSError, UnicodeError):
            continue
        return True
    return False


def _example_mapper(key, builder):
    import tensorflow as tf

    if key == "glue/sst2":
        return lambda example: {
            "text": example["sentence"],
            "label": tf.cast(example["label"], tf.int32),
        }
    if key == "glue/mrpc":
        return lambda example: {
            "text": example["sentence1"],
            "text_pair": example["sentence2"],
            "label": tf.cast(example["label"], tf.int32),
        }
    if key == "glue/stsb":
        return lambda example: {
            "text": example["sentence1"],
            "text_pair": example["sentence2"],
            "score": tf.cast(example["label"], tf.float32),
        }
    if key == "imdb_reviews":
        return lambda example: {
            "text": example["text"],
            "label": tf.cast(example["label"], tf.int32),
        }
    if key == "conll2003":
        tag_names = tf.constant(builder.info.features["ner"].feature.names)
        return lambda example: {
            "tokens": example["tokens"],
            "tags": tf.gather(tag_names, example["ner"]),
        }
    if key in SUMMARIZATION_FEATURES:
        document, summary = SUMMARIZATION_FEATURES[key]
        return lambda example: {"document": example[document],
                                "summary": example[summary]}
    if key in TRANSLATION_LANGUAGES:
        languages = TRANSLATION_LANGUAGES[key]
        return lambda example: {language: example[language]
                                for language in languages}
    return lambda example: {
        "id": example["id"],
        "title": example["title"],
        "question": example["question"],
        "context": example["context"],
        "answer_texts": example["answers"]["text"],
        "answer_starts": tf.cast(example["answers"]["answer_start"], tf.int32),
    }
