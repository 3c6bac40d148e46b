"""Training a WordPiece vocabulary (`vocab.txt`) from text."""

import collections
import os

import tensorflow as tf
from tensorflow_text.tools.wordpiece_vocab import (
    wordpiece_tokenizer_learner_lib as learner,
)

from tfzoo.tokenizers.bert_basic_tokenizer import bert_basic_tokenize
from tfzoo.tokenizers.word_piece_tokenizer import BERT_SPECIAL_TOKENS


def count_words(texts, lowercase=True, batch_size=1024):
    """Counts BERT basic-tokenized words in strings or a string dataset."""
    if isinstance(texts, tf.data.Dataset):
        dataset = texts
        if dataset.element_spec.shape.rank == 0:
            dataset = dataset.batch(batch_size)
    else:
        texts = list(texts)
        if not texts:
            raise ValueError("No texts to train a vocabulary on.")
        dataset = tf.data.Dataset.from_tensor_slices(texts).batch(batch_size)
    dataset = dataset.map(
        lambda batch: bert_basic_tokenize(batch, lowercase).flat_values,
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    counts = collections.Counter()
    for words in dataset.as_numpy_iterator():
        counts.update(word.decode("utf-8") for word in words)
    return counts


def train_word_piece_vocabulary(
    texts,
    vocabulary_size,
    lowercase=True,
    special_tokens=BERT_SPECIAL_TOKENS,
    min_count=2,
    output_path=None,
):
    """Learns a WordPiece vocabulary; returns it, and writes `vocab.txt`.

    `texts` is a list of strings or a `tf.data.Dataset` of strings. Words
    are split as `WordPieceTokenizer` splits them, so the vocabulary fits
    it. The special tokens come first, BERT's by default.

    Example:

    >>> texts = ["the cat sat", "the cat ran", "a dog sat"] * 20
    >>> vocabulary = train_word_piece_vocabulary(texts, 40, min_count=1)
    >>> vocabulary[:5], "cat" in vocabulary
    (['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'], True)
    """
    counts = count_words(texts, lowercase)
    if not counts:
        raise ValueError("The texts contain no words.")
    vocabulary = learner.learn(
        counts.items(),
        vocab_size=vocabulary_size,
        reserved_tokens=list(special_tokens),
        lower_thresh=min_count,
    )
    if output_path is not None:
        directory = os.path.dirname(os.path.abspath(output_path))
        os.makedirs(directory, exist_ok=True)
        with open(output_path, "w", encoding="utf-8") as file:
            file.write("\n".join(vocabulary) + "\n")
    return vocabulary
