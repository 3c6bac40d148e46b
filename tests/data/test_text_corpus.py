import pytest

from tfzoo.data import read_text_corpus
from tfzoo.data import sample_path
from tfzoo.data import stdlib_docstrings_corpus


def all_sentences(corpus):
    return [sentence for document in corpus for sentence in document]


def test_pretrain_corpus_sample():
    corpus = read_text_corpus(sample_path("pretrain_corpus.txt"))
    assert len(corpus) == 250
    assert sum(len(document) for document in corpus) == 1267
    assert corpus[0][0] == (
        "The Kestle Hills run along the northern border of Drossland."
    )
    for sentence in all_sentences(corpus):
        assert sentence and sentence == sentence.strip()


@pytest.fixture
def two_files(tmp_path):
    (tmp_path / "a.txt").write_text(
        "  One.\nTwo.\n\n\n   \nThree.\n", encoding="utf-8"
    )
    (tmp_path / "b.txt").write_text("\nFour.\n\nFive.\nSix.", encoding="utf-8")
    return tmp_path


def test_blank_lines_separate_documents_within_each_file(two_files):
    corpus = read_text_corpus([two_files / "a.txt", two_files / "b.txt"])
    assert corpus == [
        ["One.", "Two."], ["Three."], ["Four."], ["Five.", "Six."]
    ]


def test_each_file_is_one_document(two_files):
    paths = [two_files / "b.txt", two_files / "a.txt"]
    corpus = read_text_corpus(paths, documents="file")
    assert corpus == [["Four.", "Five.", "Six."], ["One.", "Two.", "Three."]]


def test_glob_pattern_reads_matching_files_in_sorted_order(two_files):
    (two_files / "c.md").write_text("Not matched.\n", encoding="utf-8")
    corpus = read_text_corpus(str(two_files / "*.txt"), documents="file")
    assert corpus == [["One.", "Two.", "Three."], ["Four.", "Five.", "Six."]]


def test_glob_without_matches_and_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="matches no files"):
        read_text_corpus(str(tmp_path / "*.txt"))
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_text_corpus(tmp_path / "missing.txt")


def test_unknown_documents_mode(two_files):
    with pytest.raises(ValueError, match="documents='line'.*'blank_line'"):
        read_text_corpus(two_files / "a.txt", documents="line")


def test_non_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"Fine.\n\nCaf\xe9 au lait.\n")
    with pytest.raises(ValueError, match=r"corpus\.txt, line 3: .*not valid"):
        read_text_corpus(path)


def test_no_documents(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"No documents in .*blank\.txt"):
        read_text_corpus(path)


def test_stdlib_docstrings_corpus_stops_at_max_documents():
    corpus = stdlib_docstrings_corpus(max_documents=200)
    assert len(corpus) == 200
    assert all(len(document) >= 2 for document in corpus)
    for sentence in all_sentences(corpus):
        assert ">>>" not in sentence and "\n" not in sentence
        assert sentence and sentence == sentence.strip()


def test_stdlib_docstrings_corpus_is_deterministic_and_large_enough():
    corpus = stdlib_docstrings_corpus(max_documents=600, min_sentences=3)
    assert len(corpus) == 600
    assert all(len(document) >= 3 for document in corpus)
    first_50 = stdlib_docstrings_corpus(max_documents=50, min_sentences=3)
    assert corpus[:50] == first_50
