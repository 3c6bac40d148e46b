"""Packs one or two token segments into fixed-length BERT inputs."""

import keras
import tensorflow as tf
import tensorflow_text as tf_text


@keras.saving.register_keras_serializable(package="tfzoo")
class MultiSegmentPacker(keras.layers.Layer):
    """`[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, padded to a fixed length.

    Takes ragged int batches (one per segment) and returns dense int32
    tensors of static shape `[batch, sequence_length]`: `token_ids`,
    `segment_ids` (0 for the first segment, 1 for the second) and
    `padding_mask`. Segments too long to fit are truncated round-robin:
    tokens are taken from each segment in turn, so two long segments keep
    equal shares.

    `pair_start_ids` go before the second segment (RoBERTa's `<s> a </s>
    </s> b </s>` has `pair_start_ids=[</s>]`); `segment_ids=False` makes
    every segment id 0 (models with one token type). `from_packing`
    builds the packer of a tokenizer's `Packing`.

    Example:

    >>> import tensorflow as tf
    >>> packer = MultiSegmentPacker(8, start_id=2, end_id=3, pad_id=0)
    >>> first = tf.ragged.constant([[10, 11, 12, 13, 14]])
    >>> second = tf.ragged.constant([[20, 21, 22]])
    >>> packed = packer((first, second))
    >>> packed["token_ids"].numpy().tolist()
    [[2, 10, 11, 12, 3, 20, 21, 3]]
    >>> packed["segment_ids"].numpy().tolist()
    [[0, 0, 0, 0, 0, 1, 1, 1]]
    """

    def __init__(self, sequence_length, start_id, end_id, pad_id=0,
                 pair_start_ids=(), segment_ids=True, **kwargs):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        if sequence_length < 3:
            raise ValueError(
                f"sequence_length must be at least 3, got {sequence_length}."
            )
        self.sequence_length = sequence_length
        self.start_id = start_id
        self.end_id = end_id
        self.pad_id = pad_id
        self.pair_start_ids = [int(i) for i in pair_start_ids]
        self.segment_ids = bool(segment_ids)
        self.built = True

    @classmethod
    def from_packing(cls, packing, sequence_length, **kwargs):
        """The packer of a tokenizer's `Packing` (`tokenizer.packing`)."""
        return cls(sequence_length, start_id=packing.start_id,
                   end_id=packing.end_id, pad_id=packing.pad_id,
                   pair_start_ids=packing.pair_start_ids,
                   segment_ids=packing.segment_ids, **kwargs)

    def __call__(self, segments, **kwargs):
        # Ragged inputs bypass Keras' tensor conversion.
        return self.call(segments)

    def call(self, segments):
        if not isinstance(segments, (tuple, list)):
            segments = (segments,)
        if len(segments) not in (1, 2):
            raise ValueError(
                f"MultiSegmentPacker packs 1 or 2 segments, got "
                f"{len(segments)}."
            )
        segments = [
            tf.cast(s if isinstance(s, tf.RaggedTensor)
                    else tf.convert_to_tensor(s), "int32")
            for s in segments
        ]
        unbatched = segments[0].shape.rank == 1
        if unbatched:
            segments = [s[None] for s in segments]
        segments = [
            s if isinstance(s, tf.RaggedTensor)
            else tf.RaggedTensor.from_tensor(s)
            for s in segments
        ]
        extra = len(self.pair_start_ids) if len(segments) == 2 else 0
        room = self.sequence_length - len(segments) - 1 - extra
        trimmed = tf_text.RoundRobinTrimmer(room).trim(segments)
        if extra:
            second = trimmed[1]
            prefix = tf.fill(
                [second.nrows(), extra], tf.constant(0, second.dtype)
            ) + tf.constant(self.pair_start_ids, second.dtype)
            trimmed = [trimmed[0], tf.concat(
                [tf.RaggedTensor.from_tensor(prefix), second], axis=1)]
        token_ids, segment_ids = tf_text.combine_segments(
            trimmed, start_of_sequence_id=self.start_id,
            end_of_segment_id=self.end_id,
        )
        token_ids, padding_mask = tf_text.pad_model_inputs(
            token_ids, self.sequence_length, pad_value=self.pad_id
        )
        segment_ids, _ = tf_text.pad_model_inputs(
            segment_ids, self.sequence_length
        )
        if not self.segment_ids:
            segment_ids = tf.zeros_like(segment_ids)
        packed = {
            "token_ids": tf.cast(token_ids, "int32"),
            "segment_ids": tf.cast(segment_ids, "int32"),
            "padding_mask": tf.cast(padding_mask, "int32"),
        }
        if unbatched:
            packed = {key: value[0] for key, value in packed.items()}
        return packed

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "start_id": self.start_id,
                "end_id": self.end_id,
                "pad_id": self.pad_id,
                "pair_start_ids": list(self.pair_start_ids),
                "segment_ids": self.segment_ids,
            }
        )
        return config
