"""Raw text to BertMaskedLM and BertPretrainer inputs and labels."""

import keras
import tensorflow as tf

from tfzoo.preprocessing.bert_classifier_preprocessor import (
    split_text_inputs,
)
from tfzoo.preprocessing.masked_lm_masker import MaskedLMMasker
from tfzoo.preprocessing.preprocessor import Preprocessor
from tfzoo.tokenizers.word_piece_tokenizer import WordPieceTokenizer


class _MaskingPreprocessor(Preprocessor):
    """Tokenize, pack, then mask: shared by the two pretraining tasks."""

    word_piece_only = "it masks with [MASK] and keeps [CLS], [SEP], [PAD]"

    def __init__(
        self,
        tokenizer,
        sequence_length=128,
        mask_selection_rate=0.15,
        max_predictions=20,
        seed=None,
        **kwargs,
    ):
        super().__init__(tokenizer, sequence_length, **kwargs)
        self.mask_selection_rate = mask_selection_rate
        self.max_predictions = max_predictions
        self.seed = seed
        self.masker = MaskedLMMasker(
            tokenizer.vocabulary_size,
            tokenizer.mask_token_id,
            mask_selection_rate=mask_selection_rate,
            max_predictions=max_predictions,
            unselectable_token_ids=(
                tokenizer.pad_token_id,
                tokenizer.cls_token_id,
                tokenizer.sep_token_id,
            ),
            seed=seed,
        )

    def _masked_features(self, texts):
        segments = [self.tokenizer.tokenize(tf.convert_to_tensor(t))
                    for t in texts]
        packed = self.packer(segments)
        masked = self.masker(packed["token_ids"])
        features = {
            "token_ids": masked["token_ids"],
            "segment_ids": packed["segment_ids"],
            "padding_mask": packed["padding_mask"],
            "mask_positions": masked["mask_positions"],
        }
        return features, masked["mask_ids"], masked["mask_weights"]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mask_selection_rate": self.mask_selection_rate,
                "max_predictions": self.max_predictions,
                "seed": self.seed,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="tfzoo")
class BertMaskedLMPreprocessor(_MaskingPreprocessor):
    """Text (or text pairs) to masked inputs, `mask_ids` and weights.

    Returns `(x, mask_ids, mask_weights)`, the form
    `BertMaskedLM.fit` takes. 15% of the real tokens are chosen (never
    `[CLS]`, `[SEP]` or padding), at most `max_predictions` a sequence.

    Example:

    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"]
    >>> preprocessor = BertMaskedLMPreprocessor(
    ...     WordPieceTokenizer(vocabulary), sequence_length=12,
    ...     max_predictions=3, seed=1)
    >>> x, ids, weights = preprocessor(["a b a b a b a b"])
    >>> sorted(x), x["mask_positions"].shape, float(weights.numpy().sum())
    (['mask_positions', 'padding_mask', 'segment_ids', 'token_ids'], TensorShape([1, 3]), 1.0)
    """

    def call(self, x, y=None, sample_weight=None):
        features, mask_ids, mask_weights = self._masked_features(
            split_text_inputs(x)
        )
        return features, mask_ids, mask_weights


@keras.saving.register_keras_serializable(package="tfzoo")
class BertPretrainerPreprocessor(_MaskingPreprocessor):
    """Sentence pairs and next-sentence labels to BertPretrainer data.

    `x` is a dict of `first` and `second` texts (as made by
    `make_next_sentence_pairs`) and `y` the next-sentence labels (1 when
    `second` follows `first`). Returns `(x, y)` with `y` a dict of
    `mask_ids`, `mask_weights` and `next_sentence_labels`.

    Example:

    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"]
    >>> preprocessor = BertPretrainerPreprocessor(
    ...     WordPieceTokenizer(vocabulary), sequence_length=12, seed=1)
    >>> x, y = preprocessor({"first": ["a b a"], "second": ["b a b"]}, [1])
    >>> sorted(y), x["segment_ids"].numpy()[0, :9].tolist()
    (['mask_ids', 'mask_weights', 'next_sentence_labels'], [0, 0, 0, 0, 0, 1, 1, 1, 1])
    """

    def call(self, x, y=None, sample_weight=None):
        if not isinstance(x, dict) or set(x) != {"first", "second"}:
            raise ValueError(
                "BertPretrainerPreprocessor takes a dict of 'first' and "
                "'second' texts (see make_next_sentence_pairs)."
            )
        features, mask_ids, mask_weights = self._masked_features(
            [x["first"], x["second"]]
        )
        if y is None:
            raise ValueError(
                "BertPretrainerPreprocessor needs next-sentence labels y."
            )
        labels = {
            "mask_ids": mask_ids,
            "mask_weights": mask_weights,
            "next_sentence_labels": tf.cast(y, "int32"),
        }
        return features, labels
