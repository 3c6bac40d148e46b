import tensorflow as tf

from tfzoo.data import read_classification_file, sample_path
from tfzoo.tokenizers import WordPieceTokenizer, train_word_piece_vocabulary


def test_trained_vocabulary_covers_held_out_text(tmp_path):
    train, _ = read_classification_file(sample_path("sentiment_train.jsonl"))
    test, _ = read_classification_file(sample_path("sentiment_test.jsonl"))
    path = tmp_path / "vocab.txt"
    vocabulary = train_word_piece_vocabulary(
        train["text"], 1000, output_path=str(path)
    )
    assert vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert path.read_text(encoding="utf-8").split("\n")[:-1] == vocabulary
    assert "recommend" in vocabulary and "##ed" in vocabulary
    ids = WordPieceTokenizer(str(path))(test["text"]).flat_values.numpy()
    assert (ids == 1).mean() < 0.02  # [UNK] is rare on unseen reviews


def test_trains_from_a_dataset():
    texts = ["the cat sat", "the cat ran", "a dog sat"] * 20
    from_list = train_word_piece_vocabulary(texts, 60, min_count=1)
    dataset = tf.data.Dataset.from_tensor_slices(texts)
    assert train_word_piece_vocabulary(dataset, 60, min_count=1) == from_list
