"""Chooses and masks tokens for masked-language-model pretraining."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfzoo")
class MaskedLMMasker(keras.layers.Layer):
    """Masks packed token ids the way BERT's pretraining data does.

    Takes dense int `[batch, length]` ids (padding included, e.g. a
    `MultiSegmentPacker`'s `token_ids`; a single `[length]` sequence works
    too) and returns a dict of int32 `token_ids` (a masked copy, same
    shape), and of static shape `[batch, max_predictions]`:
    `mask_positions` (ascending), int32 `mask_ids` (the original ids there)
    and float32 `mask_weights` (1.0 for a prediction, 0.0 for the padding
    slots, whose position and id are 0). These are the masked-LM inputs
    and labels of `BertMaskedLM` and `BertPretrainer`.

    Each sequence gets `round(mask_selection_rate * n)` predictions, at
    least one and at most `max_predictions`, where `n` counts its tokens
    whose id is not in `unselectable_token_ids` (list the pad, `[CLS]` and
    `[SEP]` ids there; such tokens are never chosen). A chosen token
    becomes `mask_token_id` with probability `mask_token_rate`, a random
    id with probability `random_token_rate`, and stays unchanged
    otherwise. Random ids are drawn uniformly from `[0, vocabulary_size)`
    without the unselectable ids (the mask id can be drawn, as in BERT).

    Only stateless TensorFlow random ops are used, so the layer runs in
    `tf.data` and `tf.function`. Each call draws a fresh seed from a
    `keras.random.SeedGenerator` (part of the layer's state): a new layer
    with the same `seed` masks the same calls identically. In
    `Dataset.map` that holds when the map is not parallel (with
    `num_parallel_calls`, batches may take the seeds in another order).

    Args:
        vocabulary_size: the number of token ids.
        mask_token_id: the `[MASK]` id.
        mask_selection_rate: the share of selectable tokens to predict.
        mask_token_rate: the share of chosen tokens replaced by the mask.
        random_token_rate: the share of chosen tokens replaced by a random
            id.
        max_predictions: the most predictions per sequence; the static
            length of the mask outputs.
        unselectable_token_ids: ids never chosen nor drawn as random ids.
        seed: an int for reproducible masking; random if None.

    Example:

    >>> import tensorflow as tf
    >>> masker = MaskedLMMasker(
    ...     vocabulary_size=100, mask_token_id=4, mask_selection_rate=0.5,
    ...     max_predictions=3, unselectable_token_ids=(0, 2, 3), seed=7)
    >>> token_ids = tf.constant([[2, 10, 11, 12, 13, 3, 0, 0]])
    >>> outputs = masker(token_ids)
    >>> outputs["mask_positions"].shape
    TensorShape([1, 3])
    >>> outputs["mask_weights"].numpy().tolist()
    [[1.0, 1.0, 0.0]]
    >>> positions = outputs["mask_positions"][0, :2].numpy().tolist()
    >>> all(1 <= position <= 4 for position in positions)
    True
    """

    def __init__(
        self,
        vocabulary_size,
        mask_token_id,
        mask_selection_rate=0.15,
        mask_token_rate=0.8,
        random_token_rate=0.1,
        max_predictions=20,
        unselectable_token_ids=(0,),
        seed=None,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        for name, rate in (
            ("mask_selection_rate", mask_selection_rate),
            ("mask_token_rate", mask_token_rate),
            ("random_token_rate", random_token_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {rate}.")
        if mask_token_rate + random_token_rate > 1.0:
            raise ValueError(
                f"mask_token_rate + random_token_rate must be at most 1, got "
                f"{mask_token_rate} + {random_token_rate}."
            )
        if int(max_predictions) != max_predictions or max_predictions < 1:
            raise ValueError(
                f"max_predictions must be an integer of at least 1, got "
                f"{max_predictions}."
            )
        if vocabulary_size < 1:
            raise ValueError(
                f"vocabulary_size must be positive, got {vocabulary_size}."
            )
        if not 0 <= mask_token_id < vocabulary_size:
            raise ValueError(
                f"mask_token_id {mask_token_id} is outside the vocabulary "
                f"[0, {vocabulary_size})."
            )
        unselectable_token_ids = [int(i) for i in unselectable_token_ids]
        # Ids to skip when drawing random tokens, ascending and unique.
        self._excluded_ids = sorted(
            {i for i in unselectable_token_ids if 0 <= i < vocabulary_size}
        )
        if random_token_rate > 0 and (
            len(self._excluded_ids) >= vocabulary_size
        ):
            raise ValueError(
                "Every id is unselectable, so no random token can be drawn. "
                "Fix: set random_token_rate=0 or list fewer ids."
            )
        self.vocabulary_size = int(vocabulary_size)
        self.mask_token_id = int(mask_token_id)
        self.mask_selection_rate = float(mask_selection_rate)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.max_predictions = int(max_predictions)
        self.unselectable_token_ids = unselectable_token_ids
        self.seed = seed
        self._seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def call(self, token_ids):
        token_ids = tf.cast(token_ids, "int32")
        unbatched = token_ids.shape.rank == 1
        if unbatched:
            token_ids = token_ids[None]
        selection_seed, action_seed, random_id_seed = tf.unstack(
            tf.random.experimental.stateless_split(
                tf.cast(self._seed_generator.next(), "int64"), 3
            )
        )
        positions, weights = self._choose_positions(token_ids, selection_seed)
        valid = weights > 0
        mask_ids = tf.gather(token_ids, positions, batch_dims=1)
        mask_ids = tf.where(valid, mask_ids, 0)

        # Mask, replace with a random id, or keep each chosen token.
        shape = tf.shape(positions)
        action = tf.random.stateless_uniform(shape, action_seed)
        random_ids = self._random_token_ids(shape, random_id_seed)
        new_ids = tf.where(
            action < self.mask_token_rate,
            self.mask_token_id,
            tf.where(
                action < self.mask_token_rate + self.random_token_rate,
                random_ids,
                mask_ids,
            ),
        )
        masked = self._write(token_ids, positions, valid, new_ids)
        outputs = {
            "token_ids": masked,
            "mask_positions": positions,
            "mask_ids": mask_ids,
            "mask_weights": weights,
        }
        if unbatched:
            outputs = {key: value[0] for key, value in outputs.items()}
        return outputs

    def _choose_positions(self, token_ids, seed):
        """Random selectable positions, ascending, and their weights."""
        batch_size, length = tf.shape(token_ids)[0], tf.shape(token_ids)[1]
        slots = self.max_predictions
        selectable = tf.ones_like(token_ids, "bool")
        for token_id in self.unselectable_token_ids:
            selectable &= tf.not_equal(token_ids, token_id)
        # The chosen positions are the top random scores; unselectable
        # tokens, and the columns added when a sequence is shorter than
        # `max_predictions`, score -1 and are never among the first
        # `num_chosen`.
        scores = tf.random.stateless_uniform([batch_size, length], seed)
        scores = tf.where(selectable, scores, -1.0)
        scores = tf.pad(
            scores, [[0, 0], [0, tf.maximum(slots - length, 0)]],
            constant_values=-1.0,
        )
        _, top = tf.math.top_k(scores, k=slots, sorted=True)

        num_selectable = tf.reduce_sum(tf.cast(selectable, "int32"), axis=1)
        num_chosen = tf.cast(
            tf.round(self.mask_selection_rate * tf.cast(num_selectable, "float32")),
            "int32",
        )
        if self.mask_selection_rate > 0:
            num_chosen = tf.maximum(num_chosen, tf.minimum(num_selectable, 1))
        num_chosen = tf.minimum(num_chosen, slots)

        valid = tf.range(slots)[None, :] < num_chosen[:, None]
        # Sort the chosen positions ascending; unused slots sort last.
        positions = tf.sort(tf.where(valid, top, length + slots), axis=1)
        positions = tf.where(valid, positions, 0)
        return positions, tf.cast(valid, "float32")

    def _random_token_ids(self, shape, seed):
        """Uniform ids in [0, vocabulary_size) except the excluded ids."""
        num_allowed = self.vocabulary_size - len(self._excluded_ids)
        if num_allowed < 1:  # only when random_token_rate == 0
            return tf.zeros(shape, "int32")
        ids = tf.random.stateless_uniform(
            shape, seed, minval=0, maxval=num_allowed, dtype="int32"
        )
        # Shift past each excluded id in ascending order: a bijection from
        # [0, num_allowed) onto the allowed ids.
        for excluded in self._excluded_ids:
            ids += tf.cast(ids >= excluded, "int32")
        return ids

    def _write(self, token_ids, positions, valid, new_ids):
        """`token_ids` with `new_ids` written at the valid positions."""
        slots = self.max_predictions
        length = tf.shape(token_ids)[1]
        # Unused slots write to extra columns (one each), dropped after.
        columns = tf.where(valid, positions, length + tf.range(slots)[None, :])
        rows = tf.broadcast_to(
            tf.range(tf.shape(token_ids)[0])[:, None], tf.shape(columns)
        )
        extended = tf.pad(token_ids, [[0, 0], [0, slots]])
        written = tf.tensor_scatter_nd_update(
            extended, tf.stack([rows, columns], axis=-1), new_ids
        )
        written = written[:, :length]
        written.set_shape(token_ids.shape)
        return written

    def compute_output_spec(self, token_ids):
        batch_shape = tuple(token_ids.shape[:-1])
        mask_shape = batch_shape + (self.max_predictions,)
        return {
            "token_ids": keras.KerasTensor(token_ids.shape, dtype="int32"),
            "mask_positions": keras.KerasTensor(mask_shape, dtype="int32"),
            "mask_ids": keras.KerasTensor(mask_shape, dtype="int32"),
            "mask_weights": keras.KerasTensor(mask_shape, dtype="float32"),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "mask_token_id": self.mask_token_id,
                "mask_selection_rate": self.mask_selection_rate,
                "mask_token_rate": self.mask_token_rate,
                "random_token_rate": self.random_token_rate,
                "max_predictions": self.max_predictions,
                "unselectable_token_ids": list(self.unselectable_token_ids),
                "seed": self.seed,
            }
        )
        return config
