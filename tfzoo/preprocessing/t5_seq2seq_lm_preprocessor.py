"""(source, target) text pairs to T5's encoder and decoder inputs.

Example:

>>> from tfzoo.tokenizers import (SentencePieceTokenizer,
...                               train_sentence_piece_model)
>>> tokenizer = SentencePieceTokenizer(train_sentence_piece_model(
...     ["the cat sat on the mat"] * 20, 270, model_type="bpe",
...     pad_id=0, eos_id=1, unk_id=2, bos_id=-1))
>>> preprocessor = T5Seq2SeqLMPreprocessor(tokenizer,
...                                        encoder_sequence_length=64,
...                                        decoder_sequence_length=32)
>>> x, labels, weights = preprocessor(["the cat", "the mat sat"],
...                                   ["sat", "the cat"])
>>> x["encoder_token_ids"].shape, labels.shape  # the 16-token buckets
(TensorShape([2, 16]), TensorShape([2, 16]))
>>> ids = tokenizer(["sat"])[0].numpy().tolist()
>>> labels[0, :len(ids) + 1].numpy().tolist() == ids + [1]  # ends in </s>
True
>>> x["decoder_token_ids"][0, :len(ids) + 1].numpy().tolist() == [0] + ids
True
"""

import keras
import tensorflow as tf

from tfzoo.preprocessing.length_buckets import (
    sequence_buckets,
    smallest_bucket,
)


@keras.saving.register_keras_serializable(package="tfzoo")
class T5Seq2SeqLMPreprocessor(keras.layers.Layer):
    """Tokenizes and packs (source, target) text the way T5 trains.

    Encoder input `[source tokens…, </s>]`; decoder input `[<pad>, target
    tokens…]` (T5 starts decoding from the pad id); labels `[target
    tokens…, </s>]`, weighted 1 at real tokens and 0 at padding. Sources
    longer than `encoder_sequence_length - 1` tokens and targets longer
    than `decoder_sequence_length - 1` are cut (the `</s>` is kept);
    `count_truncated(sources, targets)` says how many texts would be cut,
    and `T5Seq2SeqLM.fit` reports that for its in-memory data before
    training. Nothing is counted inside the pipeline, so a `tf.data`
    iterator over it stays stateless and `StepCheckpoint` can save its
    position mid-epoch. Task prefixes
    ("translate English to German: ") are plain text in the source.

    Each batch is padded only to the smallest length bucket (16, 32, 64,
    ... up to the sequence length) that holds its longest source, and
    likewise for targets (`length_buckets=True`), so training compiles
    one XLA step per (source bucket, target bucket) pair, not per batch.
    `length_buckets=False` pads to the full sequence lengths.

    Call with `(sources, targets)` (strings `[batch]`), or a dict with
    `encoder_text` and `decoder_text` (keras-hub's names) or `text` and
    `text_pair` (what `Task.fit` makes of an `x=(sources, targets)`
    tuple). Returns `(features, labels, sample_weight)`; with sources
    only, just the encoder features.

    Args:
        tokenizer: a `SentencePieceTokenizer` (any tokenizer with
            `tokenize`, `token_to_id` and `end_of_text_id`) whose "<pad>"
            is id 0 and which has an end-of-text piece ("</s>").
        encoder_sequence_length, decoder_sequence_length: the longest
            source and target, in tokens with their `</s>`.
        length_buckets: pad each batch to its length bucket.
    """

    def __init__(self, tokenizer, encoder_sequence_length=512,
                 decoder_sequence_length=128, length_buckets=True,
                 **kwargs):
        super().__init__(**kwargs)
        end_id = getattr(tokenizer, "end_of_text_id", None)
        if end_id is None:
            raise ValueError(
                "T5 packing needs a tokenizer with an end-of-sequence "
                "piece ('</s>'); this one has none. Train the SentencePiece "
                "model with eos_id set (e.g. train_sentence_piece_model(..., "
                "pad_id=0, eos_id=1, unk_id=2, bos_id=-1))."
            )
        try:
            pad_id = tokenizer.token_to_id("<pad>")
        except (KeyError, IndexError):
            pad_id = None
        if pad_id != 0:
            raise ValueError(
                f"T5 decodes from the pad id 0, so the tokenizer's '<pad>' "
                f"must be id 0; it is {pad_id}. Train the SentencePiece "
                f"model with pad_id=0."
            )
        for name, length in (("encoder_sequence_length",
                              encoder_sequence_length),
                             ("decoder_sequence_length",
                              decoder_sequence_length)):
            if int(length) < 2:
                raise ValueError(f"{name} must be >= 2, got {length}.")
        self.tokenizer = tokenizer
        self.encoder_sequence_length = int(encoder_sequence_length)
        self.decoder_sequence_length = int(decoder_sequence_length)
        self.length_buckets = bool(length_buckets)
        self.end_id = int(end_id)
        self.pad_id = 0
        self.built = True

    def count_truncated(self, sources=None, targets=None, batch_size=1024):
        """`(sources cut, targets cut)`: how many of the texts are longer
        than `encoder_sequence_length` / `decoder_sequence_length` allow
        (with their `</s>`), tokenized `batch_size` at a time."""
        return tuple(
            0 if texts is None else self._count_longer(
                texts, length - 1, batch_size)
            for texts, length in ((sources, self.encoder_sequence_length),
                                  (targets, self.decoder_sequence_length)))

    def _count_longer(self, texts, limit, batch_size):
        texts = list(texts)
        count = 0
        for start in range(0, len(texts), batch_size):
            lengths = self._token_ids(
                texts[start:start + batch_size]).row_lengths()
            count += int(tf.reduce_sum(tf.cast(lengths > limit, "int32")))
        return count

    def __call__(self, x, y=None, sample_weight=None):
        # Strings and ragged inputs bypass Keras' tensor conversion.
        return self.call(x, y, sample_weight)

    def call(self, x, y=None, sample_weight=None):
        sources, targets = sources_and_targets(x, y)
        return self.pack(
            self._token_ids(sources),
            None if targets is None else self._token_ids(targets),
            sample_weight,
        )

    def pack(self, source_ids, target_ids=None, sample_weight=None):
        """Packs token ids (ragged int `[batch, None]`, without `</s>`)
        as `call` packs text: `(features, labels, sample_weight)`, or the
        encoder features alone without targets. `SpanCorruption` packs
        its corrupted pairs with this."""
        source_ids = self._ended(source_ids, self.encoder_sequence_length)
        token_ids, padding_mask = self._padded(source_ids,
                                               self.encoder_sequence_length)
        features = {"encoder_token_ids": token_ids,
                    "encoder_padding_mask": padding_mask}
        if target_ids is None:
            return features
        labels = self._ended(target_ids, self.decoder_sequence_length)
        label_ids, label_mask = self._padded(labels,
                                             self.decoder_sequence_length)
        # Shift right: the decoder sees <pad>, then the target.
        starts = tf.fill([tf.shape(label_ids)[0], 1], self.pad_id)
        decoder_ids = tf.concat([starts, label_ids[:, :-1]], axis=1)
        features["decoder_token_ids"] = decoder_ids
        features["decoder_padding_mask"] = label_mask  # the same positions
        weights = tf.cast(label_mask, "float32")
        if sample_weight is not None:
            weights *= tf.reshape(tf.cast(sample_weight, "float32"), [-1, 1])
        return features, label_ids, weights

    def _token_ids(self, texts):
        ids = self.tokenizer.tokenize(texts)
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        return ids

    def _ended(self, ids, sequence_length):
        """Each row of ragged `ids` cut to fit, then `</s>`."""
        ids = tf.cast(ids[:, :sequence_length - 1], "int32")
        ends = tf.RaggedTensor.from_tensor(
            tf.fill([ids.nrows(), 1], self.end_id),
            row_splits_dtype=ids.row_splits.dtype)
        return tf.concat([ids, ends], axis=1)

    def _padded(self, ids, sequence_length):
        """Dense `(ids, padding_mask)`, padded to the batch's bucket."""
        if self.length_buckets:
            longest = tf.reduce_max(
                tf.concat([ids.row_lengths(), [1]], axis=0))
            width = smallest_bucket(tf.cast(longest, "int32"),
                                    sequence_buckets(sequence_length))
        else:
            width = sequence_length
        dense = ids.to_tensor(default_value=self.pad_id)
        extra = width - tf.shape(dense)[1]
        dense = tf.pad(dense, [[0, 0], [0, extra]],
                       constant_values=self.pad_id)
        mask = tf.sequence_mask(ids.row_lengths(), width, "int32")
        return dense, mask

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tokenizer": keras.layers.serialize(self.tokenizer),
                "encoder_sequence_length": self.encoder_sequence_length,
                "decoder_sequence_length": self.decoder_sequence_length,
                "length_buckets": self.length_buckets,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["tokenizer"] = keras.layers.deserialize(config["tokenizer"])
        return cls(**config)


def sources_and_targets(x, y):
    """`(sources, targets or None)` from any of the accepted forms."""
    if isinstance(x, dict):
        for source_key, target_key in (("encoder_text", "decoder_text"),
                                       ("text", "text_pair")):
            if source_key in x:
                return x[source_key], x.get(target_key, y)
        raise ValueError(
            f"T5Seq2SeqLMPreprocessor takes a dict with 'encoder_text' and "
            f"'decoder_text' (or 'text' and 'text_pair'); got keys "
            f"{sorted(x)}."
        )
    if isinstance(x, tuple) and len(x) == 2 and y is None:
        return x
    return x, y
