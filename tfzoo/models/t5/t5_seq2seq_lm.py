"""T5 with its language-model head: seq2seq training and generation.

Example:

>>> backbone = T5Backbone(vocabulary_size=60, num_layers=1, num_heads=2,
...                       hidden_dim=16, intermediate_dim=32)
>>> model = T5Seq2SeqLM(backbone)  # or T5Seq2SeqLM.from_preset("t5_small")
>>> sources = [[5, 6, 7, 1], [8, 1]]  # token ids, each ending in </s> = 1
>>> outputs = model.generate(sources, max_new_tokens=4, stop_token_ids=None)
>>> [len(ids) for ids in outputs]
[4, 4]
"""

import keras
import tensorflow as tf

from tfzoo.generation.output_projection import OutputProjection
from tfzoo.models import input_checks
from tfzoo.models.generative_task import GenerativeTask
from tfzoo.models.t5.t5_backbone import T5Backbone
from tfzoo.preprocessing.t5_seq2seq_lm_preprocessor import (
    sources_and_targets,
)


class T5LogitsHead(keras.layers.Layer):
    """The backbone's `logits` (tied and scaled, or `lm_head`) as a layer
    of the task's functional graph. No weights of its own: the task
    rebuilds it from its backbone."""

    def __init__(self, backbone, **kwargs):
        super().__init__(**kwargs)
        # A bound method, not the backbone: Keras does not track it here.
        self._logits = backbone.logits
        self._vocabulary_size = backbone.vocabulary_size

    def call(self, decoder_sequence_output):
        return self._logits(decoder_sequence_output)

    def compute_output_spec(self, decoder_sequence_output):
        return keras.KerasTensor(
            tuple(decoder_sequence_output.shape[:-1])
            + (self._vocabulary_size,), dtype="float32",
        )


@keras.saving.register_keras_serializable(package="tfzoo")
class T5Seq2SeqLM(GenerativeTask):
    """Maps a source to a target: trains with `fit`, decodes with
    `generate`.

    Inputs are the backbone's (`encoder_token_ids`, `encoder_padding_mask`,
    `decoder_token_ids`, `decoder_padding_mask`); the output is float32
    logits `[batch, target_length, vocabulary_size]` for each next target
    token. With a `T5Seq2SeqLMPreprocessor`, `fit`, `evaluate` and
    `predict` take raw `(sources, targets)` text (`fit(x=sources,
    y=targets)` or `fit(x=(sources, targets))`); without, `fit(features,
    labels, sample_weight=weights)`. Metrics: perplexity and token
    accuracy over the real target tokens.

    `generate` (from `GenerativeTask`) runs the encoder once, projects its
    output into each decoder layer's cross-attention keys and values once,
    and decodes from the pad id (T5's decoder start) in one XLA-compiled
    loop over the self-attention cache: greedy, sampling or beam search
    (the context repeated per beam), stopping at `</s>`. It returns the
    generated target only, as text for text inputs.

    Args:
        backbone: a `T5Backbone`.
        preprocessor: optional `T5Seq2SeqLMPreprocessor`.
        tokenizer: for text in `generate` (default: the preprocessor's).
    """

    backbone_class = T5Backbone
    # tfzoo.export's generate signatures, in their encoder-decoder form
    # (`encoder_decoder_signatures`: `text` in, `num_beams` per request).
    serving_kind = "generator"
    default_learning_rate = 1e-3
    # T5's conventions: decoding starts from <pad> = 0, ends at </s> = 1.
    decoder_start_token_id = 0
    end_token_id = 1

    def __init__(self, backbone, preprocessor=None, tokenizer=None,
                 **kwargs):
        if tokenizer is None and preprocessor is not None:
            tokenizer = preprocessor.tokenizer
        # === Layers ===
        self.backbone = backbone
        self.lm_head = T5LogitsHead(backbone, name="lm_head")
        # === Functional model ===
        inputs = {
            key: keras.Input(shape=(None,), dtype="int32", name=key)
            for key in backbone.input_keys
        }
        outputs = backbone(inputs)
        logits = self.lm_head(outputs["decoder_sequence_output"])
        super().__init__(inputs=inputs, outputs=logits,
                         preprocessor=preprocessor, tokenizer=tokenizer,
                         **kwargs)

    def output_projection(self):
        kernel, scale = self.backbone.output_embeddings()
        project = OutputProjection(kernel)
        if scale == 1.0:
            return project
        return lambda hidden: project(hidden * tf.cast(scale, hidden.dtype))


    def fit(self, x=None, y=None, length_buckets=False, **kwargs):
        """`Task.fit`; the preprocessor pads each batch to its source and
        target length buckets itself (`T5Seq2SeqLMPreprocessor`), and the
        in-memory texts it will cut to fit are reported before training."""
        if length_buckets:
            raise ValueError(
                "T5Seq2SeqLM.fit does not cut batches to length buckets: "
                "T5Seq2SeqLMPreprocessor(length_buckets=True) already pads "
                "each batch to its source and target buckets. Fit on raw "
                "text with that preprocessor, or on features it made."
            )
        cut = self._texts_to_cut(x, y)
        if any(cut):
            preprocessor = self.preprocessor
            print(
                f"{type(self).__name__}.fit: the preprocessor cuts "
                f"{cut[0]} sources to {preprocessor.encoder_sequence_length}"
                f" tokens and {cut[1]} targets to "
                f"{preprocessor.decoder_sequence_length} tokens (with their "
                f"</s>). Raise encoder_sequence_length or "
                f"decoder_sequence_length to keep them whole."
            )
        return super().fit(x, y, **kwargs)

    def _texts_to_cut(self, x, y):
        """`(sources, targets)` the preprocessor will cut, for raw text in
        memory; `(0, 0)` for features and datasets (not read twice)."""
        counter = getattr(self.preprocessor, "count_truncated", None)
        if counter is None or isinstance(x, tf.data.Dataset) or (
                isinstance(x, dict) and "encoder_token_ids" in x):
            return (0, 0)
        sources, targets = sources_and_targets(x, y)
        return counter(sources, targets)

    def _size_pending_schedule(self, x, batch_size, epochs, steps_per_epoch):
        # `Task` counts the rows of in-memory features by "token_ids".
        if isinstance(x, dict) and "encoder_token_ids" in x:
            x = {"token_ids": x["encoder_token_ids"]}
        super()._size_pending_schedule(x, batch_size, epochs,
                                       steps_per_epoch)

    def _checked_data(self, data):
        """Checks keys, and both token id inputs against the vocabulary."""
        name = type(self).__name__
        vocabulary_size = self.backbone.vocabulary_size
        id_keys = ("encoder_token_ids", "decoder_token_ids")
        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            features = spec[0] if isinstance(spec, tuple) else spec
            input_checks.check_input_keys(name, features, self.input_keys)

            def check(*element):
                features = dict(element[0])
                for key in id_keys:
                    checks = input_checks.assert_token_ids_in_graph(
                        features[key], vocabulary_size)
                    with tf.control_dependencies(checks):
                        features[key] = tf.identity(features[key])
                return (features,) + tuple(element[1:]) if len(
                    element) > 1 else features

            return data.map(check, num_parallel_calls=tf.data.AUTOTUNE)
        if isinstance(data, dict):
            input_checks.check_input_keys(name, data, self.input_keys)
            for key in id_keys:
                input_checks.check_token_ids(f"{name} ({key})", data[key],
                                             vocabulary_size)
        return data
