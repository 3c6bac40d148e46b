"""Label names or ids to checked int32 ids, in the graph."""

import tensorflow as tf


class LabelEncoder:
    """Maps labels to ids in `[0, len(label_names))`, failing on others.

    String labels are looked up in `label_names`; int labels are checked
    against its size (without `label_names`, ints pass through unchecked).
    Works on dense and ragged tensors. A bad label raises
    `InvalidArgumentError` naming it.

    Example:

    >>> encoder = LabelEncoder(["negative", "positive"])
    >>> encoder(["positive", "negative"]).numpy().tolist()
    [1, 0]
    """

    def __init__(self, label_names=None):
        self.label_names = None if label_names is None else list(label_names)
        self._table = None
        if self.label_names is not None:
            self._table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    [str(name) for name in self.label_names],
                    tf.range(len(self.label_names), dtype=tf.int32),
                ),
                default_value=-1,
            )

    def __call__(self, labels, ignore_label=None):
        """Encodes `labels`; ids equal to `ignore_label` pass unchecked."""
        if isinstance(labels, tf.RaggedTensor):
            return labels.with_flat_values(
                self(labels.flat_values, ignore_label)
            )
        labels = tf.convert_to_tensor(labels)
        if labels.dtype == tf.string:
            if self._table is None:
                raise ValueError(
                    "Got string labels but no label_names; pass "
                    "label_names=[...] to the preprocessor."
                )
            ids = self._table.lookup(labels)
            bad = ids < 0
            message = ["Unknown label(s):", tf.boolean_mask(labels, bad),
                       f"Known labels: {self.label_names}"]
        else:
            ids = tf.cast(labels, "int32")
            if self.label_names is None:
                return ids
            count = len(self.label_names)
            bad = (ids < 0) | (ids >= count)
            if ignore_label is not None:
                bad = bad & (ids != ignore_label)
            message = [f"Label id(s) outside [0, {count}):",
                       tf.boolean_mask(ids, bad)]
        check = tf.debugging.Assert(
            tf.logical_not(tf.reduce_any(bad)), message, summarize=5
        )
        with tf.control_dependencies([check]):
            return tf.identity(ids)
