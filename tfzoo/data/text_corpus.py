"""Reads plain-text corpora as documents of sentences, for pretraining."""

import ast
import glob
import os
import re
import sysconfig
import warnings

from tfzoo.data.utf8_lines import read_utf8_lines

DOCUMENT_MODES = ("blank_line", "file")
SKIPPED_STDLIB_DIRS = {
    "test", "tests", "idlelib", "site-packages", "__pycache__"
}
SENTENCE_BOUNDARY = re.compile(r"(?<=[.?!])\s+(?=[A-Z\"'(])")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def read_text_corpus(paths, documents="blank_line"):
    """Reads a list of documents, each a list of stripped non-empty lines.

    `paths` is one path, a glob pattern such as `"corpus/*.txt"`, or a list
    of them. With `documents="blank_line"` blank lines separate documents
    (within each file; a file's end also ends a document); with
    `documents="file"` each file is one document. Files are expected to
    hold one sentence per line.

    >>> from tfzoo.data.samples import sample_path
    >>> corpus = read_text_corpus(sample_path("pretrain_corpus.txt"))
    >>> len(corpus), sum(len(document) for document in corpus)
    (250, 1267)
    """
    if documents not in DOCUMENT_MODES:
        raise ValueError(
            f"documents={documents!r} is not supported. Fix: use one of "
            f"{', '.join(map(repr, DOCUMENT_MODES))}."
        )
    corpus = []
    file_paths = _expand_paths(paths)
    for path in file_paths:
        document = []
        for _, line in read_utf8_lines(path):
            line = line.strip()
            if line:
                document.append(line)
            elif documents == "blank_line" and document:
                corpus.append(document)
                document = []
        if document:
            corpus.append(document)
    if not corpus:
        raise ValueError(
            f"No documents in {', '.join(map(str, file_paths))}: the files "
            f"hold only blank lines. Fix: check the paths."
        )
    return corpus


def stdlib_docstrings_corpus(max_documents=None, min_sentences=2):
    """A real English corpus, built offline from standard library docstrings.

    Each module, class or function docstring with at least `min_sentences`
    sentences becomes one document (a list of sentences). Code examples
    (`>>>` sessions and indented blocks) are left out. Files are read in
    sorted order, so the result is the same on every run of one Python
    version; reading stops once `max_documents` documents are found.

    >>> corpus = stdlib_docstrings_corpus(max_documents=3)
    >>> len(corpus), all(len(document) >= 2 for document in corpus)
    (3, True)
    """
    stdlib_dir = sysconfig.get_paths()["stdlib"]
    corpus = []
    for path in _stdlib_source_files(stdlib_dir):
        for docstring in _docstrings(path):
            sentences = _docstring_sentences(docstring)
            if len(sentences) >= min_sentences:
                corpus.append(sentences)
                if max_documents is not None and len(corpus) >= max_documents:
                    return corpus
    return corpus


def tfds_text_corpus(name, data_dir=None, split="train", max_documents=None,
                     feature="text"):
    """Documents of a prepared TFDS text set (wikipedia/20230601.en, c4,
    ...): each example's `feature` split into sentences at ".", "?" or
    "!" before a capital letter, one document an example with at least
    two sentences. Nothing is downloaded.
    """
    import tensorflow_datasets as tfds

    from tfzoo.data.tfds_loaders import DatasetNotPreparedError

    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        raise DatasetNotPreparedError(
            f"Cannot load TFDS dataset {name!r}: it is not prepared in "
            f"{builder.data_dir}. Fix: on a machine with internet, run "
            f"`tfds build {name} --data_dir={builder.data_dir_root}`, copy "
            f"that directory here and pass it as --data_dir; or pass local "
            f"text files."
        )
    features = builder.info.features
    if feature not in features:
        raise ValueError(
            f"TFDS dataset {name!r} has no {feature!r} feature (it has "
            f"{', '.join(features)}). Fix: pass a text set such as "
            f"wikipedia/20230601.en."
        )
    if max_documents is not None:
        split = f"{split}[:{max_documents}]"
    corpus = []
    for example in builder.as_dataset(split=split).as_numpy_iterator():
        text = example[feature].decode("utf-8")
        sentences = [sentence.strip() for paragraph in text.split("\n")
                     for sentence in SENTENCE_BOUNDARY.split(paragraph)
                     if sentence.strip()]
        if len(sentences) >= 2:
            corpus.append(sentences)
    return corpus


def _expand_paths(paths):
    """Sorted file paths for one path, one glob pattern, or a list of them."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    file_paths = []
    for path in paths:
        path = os.fspath(path)
        if glob.has_magic(path):
            matches = sorted(glob.glob(path))
            if not matches:
                raise FileNotFoundError(
                    f"The pattern {path!r} matches no files."
                )
            file_paths.extend(matches)
        elif os.path.isfile(path):
            file_paths.append(path)
        else:
            raise FileNotFoundError(f"No such file: {path!r}.")
    if not file_paths:
        raise ValueError(
            "No paths given. Fix: pass a path, a glob pattern or a list."
        )
    return file_paths


def _stdlib_source_files(stdlib_dir):
    """Sorted `.py` files of the standard library, without tests and IDLE."""
    found = []
    for directory, subdirectories, file_names in os.walk(stdlib_dir):
        subdirectories[:] = [
            name for name in subdirectories if name not in SKIPPED_STDLIB_DIRS
        ]
        found.extend(
            os.path.join(directory, name)
            for name in file_names
            if name.endswith(".py")
        )
    return sorted(found)


def _docstrings(path):
    """Module, class and function docstrings of a file ([] if unparsable)."""
    try:
        with open(path, "rb") as file:
            source = file.read()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, UnicodeDecodeError, OSError):
        return []
    definitions = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    nodes = [tree] + [
        node for node in ast.walk(tree) if isinstance(node, definitions)
    ]
    docstrings = (ast.get_docstring(node) for node in nodes)
    return [docstring for docstring in docstrings if docstring]


def _docstring_sentences(docstring):
    """The sentences of a docstring's prose paragraphs."""
    sentences = []
    for paragraph in PARAGRAPH_BREAK.split(docstring):
        lines = [line for line in paragraph.splitlines() if line.strip()]
        if not lines or _looks_like_code(lines):
            continue
        text = " ".join(" ".join(lines).split())
        sentences.extend(part for part in SENTENCE_BOUNDARY.split(text) if part)
    return sentences


def _looks_like_code(lines):
    """True for `>>>` sessions and blocks whose lines are mostly indented."""
    for line in lines:
        if line.lstrip().startswith((">>>", "...")) or ">>>" in line:
            return True
    indented = sum(line[:1].isspace() for line in lines)
    return indented > len(lines) / 2
