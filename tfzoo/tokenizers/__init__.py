"""In-graph tokenizers (TensorFlow and tf-text ops only)."""

from tfzoo import _backend  # noqa: F401  (Keras must run on TensorFlow)
from tfzoo.tokenizers.bert_basic_tokenizer import bert_basic_tokenize
from tfzoo.tokenizers.byte_pair_tokenizer import BytePairTokenizer
from tfzoo.tokenizers.byte_pair_vocabulary import train_byte_pair_vocabulary
from tfzoo.tokenizers.sentence_piece_tokenizer import SentencePieceTokenizer
from tfzoo.tokenizers.sentence_piece_vocabulary import (
    train_sentence_piece_model,
)
from tfzoo.tokenizers.word_piece_tokenizer import WordPieceTokenizer
from tfzoo.tokenizers.word_piece_vocabulary import (
    count_words,
    train_word_piece_vocabulary,
)
