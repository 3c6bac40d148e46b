"""The `predict_token_ids` signature: packed token ids in, head outputs out."""

import tensorflow as tf

from tfzoo.preprocessing.length_buckets import call_on_length_bucket


def token_id_signature(model, sequence_length, outputs, per_token=True):
    """A tf.function of `token_ids`, `segment_ids` and `padding_mask` (int32
    `[batch, sequence_length]`) returning `outputs(model outputs)`.

    The model runs at the batch's length bucket; with `per_token` (outputs
    `[batch, bucket, ...]`) they are padded back to `sequence_length`.
    Models with one output row per example (`[batch, dim]`, e.g. text
    embeddings) pass `per_token=False`.
    """
    id_spec = tf.TensorSpec([None, sequence_length], tf.int32)

    @tf.function(input_signature=[id_spec, id_spec, id_spec], autograph=False)
    def predict_token_ids(token_ids, segment_ids, padding_mask):
        features = {
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": padding_mask,
        }
        return outputs(
            call_on_length_bucket(model, features,
                                  pad_sequence_axis=per_token)
        )

    return predict_token_ids
