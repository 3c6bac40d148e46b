"""An encoder-decoder's decoder, seen by the decode loops as a decoder-only
backbone."""


class ContextDecoder:
    """`empty_cache` and `call_with_cache` over a fixed context.

    The decode loops (`decode`, `beam_search`) drive anything with
    `empty_cache(batch_size, max_length)` and `call_with_cache(token_ids,
    cache, cache_index)`. An encoder-decoder backbone's `call_with_cache`
    also takes the read-only context its decoder cross-attends to (the
    encoder output projected once into each layer's keys and values).
    This adapter carries that context inside the cache, as
    `{"self": ..., "context": ...}`: every leaf has the batch first, so
    when beam search repeats the cache per beam and reorders it, the
    context follows its row. The context is never written.

    Args:
        backbone: has `empty_cache(batch_size, max_length)` and
            `call_with_cache(token_ids, cache, cache_index, context)`
            (e.g. `T5Backbone`).
        context: the nest `call_with_cache` reads (e.g. from
            `T5Backbone.project_encoder_output`), `[batch, ...]` leaves.

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

    def __init__(self, backbone, context):
        self.backbone = backbone
        self.context = context

    def empty_cache(self, batch_size, max_length):
        return {"self": self.backbone.empty_cache(batch_size, max_length),
                "context": self.context}

    def call_with_cache(self, token_ids, cache, cache_index):
        hidden, written = self.backbone.call_with_cache(
            token_ids, cache["self"], cache_index, cache["context"]
        )
        return hidden, {"self": written, "context": cache["context"]}
