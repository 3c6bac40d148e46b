"""Dataset readers that run before tf.data: plain Python lists out.

Readers for classification (JSONL/CSV/TSV), text pairs, translation
pairs and documents with summaries (JSONL/CSV/TSV), retrieval sets (BEIR
layout), CoNLL tagging, SQuAD question answering and plain-text corpora. Each raises ValueError naming the file
and line of bad data, and returns a `ReadReport` of any skipped records.

>>> from tfzoo.data import label_vocabulary, read_classification_file
>>> from tfzoo.data import sample_path
>>> path = sample_path("sentiment_train.jsonl")
>>> examples, report = read_classification_file(path)
>>> len(examples["text"]), label_vocabulary(examples["label"])
(480, ['negative', 'positive'])
"""

from tfzoo.data.beir_reader import RetrievalSet
from tfzoo.data.beir_reader import read_beir
from tfzoo.data.classification_reader import encode_labels
from tfzoo.data.classification_reader import label_vocabulary
from tfzoo.data.classification_reader import read_classification_file
from tfzoo.data.conll_reader import read_conll
from tfzoo.data.pair_reader import read_pair_file
from tfzoo.data.parallel_reader import ParallelText
from tfzoo.data.parallel_reader import read_parallel_file
from tfzoo.data.read_report import ReadReport
from tfzoo.data.samples import sample_names
from tfzoo.data.samples import sample_path
from tfzoo.data.squad_reader import read_squad
from tfzoo.data.summarization_reader import read_summarization_file
from tfzoo.data.text_corpus import read_text_corpus
from tfzoo.data.text_corpus import stdlib_docstrings_corpus
from tfzoo.data.text_corpus import tfds_text_corpus
from tfzoo.data.tfds_loaders import DatasetNotPreparedError
from tfzoo.data.tfds_loaders import SUPPORTED_TFDS_DATASETS
from tfzoo.data.tfds_loaders import label_names as tfds_label_names
from tfzoo.data.tfds_loaders import load_tfds
from tfzoo.data.tfds_loaders import translation_languages

__all__ = [
    "DatasetNotPreparedError",
    "ParallelText",
    "ReadReport",
    "RetrievalSet",
    "SUPPORTED_TFDS_DATASETS",
    "encode_labels",
    "label_vocabulary",
    "read_classification_file",
    "read_beir",
    "read_conll",
    "read_pair_file",
    "read_parallel_file",
    "read_squad",
    "read_summarization_file",
    "read_text_corpus",
    "sample_names",
    "sample_path",
    "stdlib_docstrings_corpus",
    "tfds_text_corpus",
    "load_tfds",
    "tfds_label_names",
    "translation_languages",
]
