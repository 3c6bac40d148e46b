import pytest

from tfzoo.data import read_conll
from tfzoo.data import sample_path

ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")
ENTITY_TAGS = {f"{prefix}-{kind}" for prefix in "BI" for kind in ENTITY_TYPES}


def write_conll(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_ner_train_sample():
    sentences, tags, report = read_conll(sample_path("ner_train.conll"))
    assert len(sentences) == len(tags) == 350
    assert sum(len(sentence) for sentence in sentences) == 4354
    assert all(len(s) == len(t) for s, t in zip(sentences, tags))
    all_tags = {tag for sentence_tags in tags for tag in sentence_tags}
    assert all_tags == ENTITY_TAGS | {"O"}
    assert report.kept == 350 and report.skipped == []


def test_ner_test_sample():
    sentences, _, _ = read_conll(sample_path("ner_test.conll"))
    assert len(sentences) == 90
    assert sum(len(sentence) for sentence in sentences) == 1137


def test_docstart_extra_blank_lines_and_four_columns(tmp_path):
    path = write_conll(
        tmp_path / "data.conll",
        "-DOCSTART- -X- -X- O\n\n"
        "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\n"
        "-DOCSTART- -X- -X- O\n"
        "Peter NNP B-NP B-PER\t\n  Blackburn NNP I-NP I-PER\n",
    )
    sentences, tags, report = read_conll(path)
    assert sentences == [["EU", "rejects"], ["Peter", "Blackburn"]]
    assert tags == [["B-ORG", "O"], ["B-PER", "I-PER"]]
    assert report.kept == 2


def test_other_columns_can_be_chosen(tmp_path):
    path = write_conll(tmp_path / "data.conll", "1 Paris B-LOC x\n2 is O x\n")
    sentences, tags, _ = read_conll(path, token_column=1, tag_column=2)
    assert sentences == [["Paris", "is"]] and tags == [["B-LOC", "O"]]


def test_i_tag_without_b_tag_is_allowed(tmp_path):
    path = write_conll(tmp_path / "data.conll", "in O\nOslo I-LOC\n")
    _, tags, _ = read_conll(path)
    assert tags == [["O", "I-LOC"]]


def test_too_few_columns_names_file_and_line(tmp_path):
    path = write_conll(tmp_path / "data.conll", "Kaja B-PER\n\nWhitlaw\n")
    with pytest.raises(
        ValueError, match=r"data\.conll, line 3: 1 column\(s\) in 'Whitlaw'"
    ):
        read_conll(path)


def test_missing_chosen_column_is_an_error(tmp_path):
    path = write_conll(tmp_path / "data.conll", "Kaja NNP B-PER\n")
    with pytest.raises(
        ValueError, match=r"data\.conll, line 1: 3 column\(s\).*tag_column=3"
    ):
        read_conll(path, tag_column=3)


@pytest.mark.parametrize("bad_tag", ["PER", "B", "B-", "E-PER", "S-LOC", "o"])
def test_non_bio_tag_names_file_line_and_tag(tmp_path, bad_tag):
    text = f"Kaja B-PER\nWhitlaw {bad_tag}\n"
    path = write_conll(tmp_path / "data.conll", text)
    with pytest.raises(
        ValueError, match=rf"data\.conll, line 2: tag '{bad_tag}' is not a BIO"
    ):
        read_conll(path)


def test_non_utf8_names_the_line(tmp_path):
    path = tmp_path / "data.conll"
    path.write_bytes(b"Kaja B-PER\n\nZ\xfcrich B-LOC\n")
    with pytest.raises(ValueError, match=r"data\.conll, line 3: .*not valid"):
        read_conll(path)


def test_file_without_sentences(tmp_path):
    path = write_conll(tmp_path / "data.conll", "-DOCSTART- O\n\n\n")
    with pytest.raises(ValueError, match=r"data\.conll holds no sentences"):
        read_conll(path)


def test_same_token_and_tag_column_is_refused(tmp_path):
    path = write_conll(tmp_path / "data.conll", "Kaja B-PER\n")
    with pytest.raises(ValueError, match="both 1"):
        read_conll(path, token_column=1, tag_column=1)
