"""Packers, maskers and per-task preprocessors: raw text to model inputs."""

from tfzoo import _backend  # noqa: F401  (Keras must run on TensorFlow)
from tfzoo.preprocessing.bert_classifier_preprocessor import (
    BertClassifierPreprocessor,
)
from tfzoo.preprocessing.bert_pretraining_preprocessors import (
    BertMaskedLMPreprocessor,
    BertPretrainerPreprocessor,
)
from tfzoo.preprocessing.bert_question_answerer_preprocessor import (
    BertQuestionAnswererPreprocessor,
)
from tfzoo.preprocessing.bert_token_classifier_preprocessor import (
    BertTokenClassifierPreprocessor,
)
from tfzoo.preprocessing.causal_lm_packing import (
    pack_token_ids,
    packed_dataset,
)
from tfzoo.preprocessing.label_encoder import LabelEncoder
from tfzoo.preprocessing.masked_lm_masker import MaskedLMMasker
from tfzoo.preprocessing.multi_segment_packer import MultiSegmentPacker
from tfzoo.preprocessing.next_sentence_pairs import make_next_sentence_pairs
from tfzoo.preprocessing.span_corruption import (
    SpanCorruption,
    random_spans_noise_mask,
    token_chunks,
)
from tfzoo.preprocessing.t5_seq2seq_lm_preprocessor import (
    T5Seq2SeqLMPreprocessor,
)
from tfzoo.preprocessing.text_embedder_preprocessor import (
    TextEmbedderPreprocessor,
)
