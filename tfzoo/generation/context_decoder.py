"""An encoder-decoder's decoder, seen by the decode loops as a decoder-only
backbone."""

import tensorflow as tf


class ContextDecoder:
    """`empty_cache` and `call_with_cache` over a fixed context.

    The decode loops (`decode`, `beam_search`) drive anything with
    `empty_cache(batch_size, max_length)` and `call_with_cache(token_ids,
    cache, cache_index)`. An encoder-decoder backbone's `call_with_cache`
    also takes the read-only context its decoder cross-attends to (the
    encoder output projected once into each layer's keys and values);
    this adapter holds that context and passes it at every step. The
    context is never written, so it stays out of the cache: beam search
    does not reorder it each step, but asks for `repeated(num_beams)`
    once, a decoder whose context has each row repeated per beam. A
    backbone with `decoding_constants()` (tensors every step reads that
    depend on no row, e.g. weights cut once) gets them as
    `call_with_cache(..., constants=...)`; they are made here, once,
    outside the loop, and never repeated.

    Args:
        backbone: has `empty_cache(batch_size, max_length)` and
            `call_with_cache(token_ids, cache, cache_index, context)`
            (e.g. `T5Backbone`).
        context: the nest `call_with_cache` reads (e.g. from
            `T5Backbone.project_encoder_output`), `[batch, ...]` leaves.
        constants: optional; default the backbone's
            `decoding_constants()`, if it has that method.

    Example:

    >>> import numpy as np, tensorflow as tf
    >>> from tfzoo.models.t5 import T5Backbone
    >>> backbone = T5Backbone(50, 1, 2, 16, 32)
    >>> source = np.ones((2, 5), "int32")
    >>> context = backbone.project_encoder_output(
    ...     backbone.encode(source, source), source)
    >>> decoder = ContextDecoder(backbone, context)
    >>> cache = decoder.empty_cache(2, 8)
    >>> hidden, cache = decoder.call_with_cache(tf.zeros((2, 1), "int32"),
    ...                                         cache, 0)
    >>> hidden.shape
    TensorShape([2, 1, 16])
    """

    def __init__(self, backbone, context, constants=None):
        self.backbone = backbone
        self.context = context
        if constants is None and hasattr(backbone, "decoding_constants"):
            constants = backbone.decoding_constants()
        self.constants = constants

    def empty_cache(self, batch_size, max_length):
        return self.backbone.empty_cache(batch_size, max_length)

    def call_with_cache(self, token_ids, cache, cache_index):
        if self.constants is None:
            return self.backbone.call_with_cache(token_ids, cache,
                                                 cache_index, self.context)
        return self.backbone.call_with_cache(token_ids, cache, cache_index,
                                             self.context,
                                             constants=self.constants)

    def repeated(self, count):
        """The same decoder with each context row repeated `count` times
        (`[batch * count, ...]`, a row's copies side by side)."""
        return ContextDecoder(
            self.backbone,
            tf.nest.map_structure(
                lambda tensor: tf.repeat(tensor, count, axis=0),
                self.context),
            self.constants,
        )
