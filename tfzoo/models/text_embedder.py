"""Sentence embeddings from any encoder backbone, for similarity and search."""

import keras
import numpy as np
import tensorflow as tf

from tfzoo.layers.sequence_pooling import SequencePooling
from tfzoo.models import input_checks
from tfzoo.models.task import (
    TaskBase,
    apply_reduced_gradients,
    weighted_mean,
)
from tfzoo.preprocessing.text_embedder_preprocessor import (
    TextEmbedderPreprocessor,
)

# sentence-transformers' MultipleNegativesRankingLoss default.
DEFAULT_SCALE = 20.0
# encode() pads each batch to a multiple of this many tokens.
ENCODE_LENGTH_STEP = 16


def unit_vectors(vectors):
    """Rows divided by their L2 norm (floored at 1e-12, as PyTorch's
    `F.normalize` does)."""
    vectors = tf.cast(vectors, "float32")
    norms = tf.norm(vectors, axis=-1, keepdims=True)
    return vectors / tf.maximum(norms, 1e-12)


def ranking_loss(columns, scale=DEFAULT_SCALE, sample_weight=None):
    """In-batch negatives ranking loss (sentence-transformers'
    MultipleNegativesRankingLoss).

    Each anchor's scores are `scale` times its cosine similarity to every
    positive (and every hard negative) of the batch; the loss is the
    cross-entropy of picking its own positive, averaged over anchors.

    >>> anchor = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(ranking_loss(
    ...     {"anchor": anchor, "positive": anchor}, scale=1.0)), 4)
    0.3133
    """
    anchors = unit_vectors(columns["anchor"])
    candidates = [unit_vectors(columns["positive"])]
    if "negative" in columns:
        candidates.append(unit_vectors(columns["negative"]))
    scores = scale * tf.matmul(
        anchors, tf.concat(candidates, axis=0), transpose_b=True
    )
    labels = tf.range(tf.shape(anchors)[0])
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, scores)
    return weighted_mean(losses, sample_weight)


def cosine_loss(columns, scores, sample_weight=None):
    """Mean squared error between cos(anchor, positive) and the gold
    `scores` (sentence-transformers' CosineSimilarityLoss)."""
    cosine = tf.reduce_sum(
        unit_vectors(columns["anchor"]) * unit_vectors(columns["positive"]),
        axis=-1,
    )
    return weighted_mean(tf.square(cosine - tf.cast(scores, "float32")),
                         sample_weight)


@keras.saving.register_keras_serializable(package="tfzoo")
class TextEmbedder(TaskBase, keras.Model):
    """One vector per text: an encoder, pooling, an optional projection and
    L2 normalisation.

    Called on a backbone's input dict it returns float32 embeddings
    `[batch, dim]`; on a dict of such dicts (training columns `anchor`,
    `positive`, optional `negative`) a dict of embeddings. `fit` on
    `(anchor, positive[, negative])` text columns with no labels trains
    with in-batch negatives (`ranking_loss`); under several replicas the
    negatives come from the global batch (every replica's positives,
    gathered with their gradients), so the update equals one device's on
    the same global batch. With float labels (similarity scores in
    [-1, 1] or [0, 1]) it trains with `cosine_loss`.

    `encode(texts)` returns a numpy array, sorting texts by length and
    cutting each batch to its length bucket; `similarity(a, b)` the
    cosine matrix.

    Example:

    >>> from tfzoo.models import BertBackbone
    >>> from tfzoo.tokenizers import WordPieceTokenizer
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...               "the", "cat", "sat", "dog", "ran"]
    >>> embedder = TextEmbedder(
    ...     BertBackbone(vocabulary_size=10, num_layers=1, num_heads=2,
    ...                  hidden_dim=8, intermediate_dim=16),
    ...     preprocessor=TextEmbedderPreprocessor(
    ...         WordPieceTokenizer(vocabulary), sequence_length=8))
    >>> vectors = embedder.encode(["the cat sat", "the dog ran", ""])
    >>> vectors.shape, round(float(np.linalg.norm(vectors[0])), 5)
    ((3, 8), 1.0)
    >>> embedder.similarity(["the cat"], ["the cat", "ran"]).shape
    (1, 2)
    """

    preprocessor_class = TextEmbedderPreprocessor
    serving_kind = "embedder"
    default_learning_rate = 2e-5

    def __init__(self, backbone, pooling="mean", normalize=True,
                 projection_dim=None, projection_activation="tanh",
                 scale=DEFAULT_SCALE, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone
        self.pooling_layer = SequencePooling(
            pooling, dtype=backbone.dtype_policy, name="pooling"
        )
        self.projection = None
        if projection_dim is not None:
            self.projection = keras.layers.Dense(
                int(projection_dim), activation=projection_activation,
                dtype=backbone.dtype_policy, name="projection",
            )
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.projection_dim = projection_dim
        self.projection_activation = projection_activation
        self.scale = float(scale)
        self._encode_function = None
        self._embed_function = None

    @property
    def embedding_dim(self):
        return self.projection_dim or self.backbone.hidden_dim

    def build(self, input_shape=None):
        # The backbone is a functional model, built when it was made.
        if self.projection is not None and not self.projection.built:
            self.projection.build((None, self.backbone.hidden_dim))
        self.built = True

    def embed(self, features, training=False):
        """Embeddings `[batch, dim]` (float32) of one input dict."""
        sequence = self.backbone(features, training=training)[
            "sequence_output"]
        vectors = self.pooling_layer(sequence, features["padding_mask"])
        if self.projection is not None:
            vectors = tf.cast(self.projection(vectors), "float32")
        return unit_vectors(vectors) if self.normalize else vectors

    def call(self, inputs, training=False):
        if "token_ids" in inputs:
            return self.embed(inputs, training)
        return {name: self.embed(features, training)
                for name, features in inputs.items()}

    def __call__(self, inputs, *args, **kwargs):
        for features in _feature_dicts(inputs):
            input_checks.check_input_keys(
                type(self).__name__, features, self.input_keys
            )
        return keras.Model.__call__(self, inputs, *args, **kwargs)

    # ------------------------------------------------------------ training --

    def default_loss(self):
        return None  # task_loss

    def task_loss(self, y, y_pred, sample_weight):
        if not isinstance(y_pred, dict):
            raise ValueError(
                "TextEmbedder trains on text columns: fit on a dict with "
                "'anchor' and 'positive' (and optionally 'negative'), or on "
                "a (texts, text_pairs) tuple, not on single texts."
            )
        if y is None:
            return ranking_loss(y_pred, self.scale, sample_weight)
        return cosine_loss(y_pred, y, sample_weight)

    def compile(self, *args, **kwargs):
        steps = kwargs.get("gradient_accumulation_steps", 1)
        if int(steps) > 1:
            raise ValueError(
                "TextEmbedder does not take gradient_accumulation_steps: "
                "in-batch negatives need the whole batch in one step. Use "
                "a smaller batch, or more replicas (their negatives are "
                "gathered into one global batch)."
            )
        super().compile(*args, **kwargs)

    def train_step(self, data):
        replicas = self.distribute_strategy.num_replicas_in_sync
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if replicas == 1 or y is not None or "token_ids" in x:
            return super().train_step(data)
        return self._global_negatives_step(x, sample_weight, replicas)

    def _global_negatives_step(self, x, sample_weight, replicas):
        """One replica's step when its negatives are every replica's.

        The embeddings are computed by this replica (XLA-compiled when the
        task compiles its step), gathered from all replicas with their
        gradient (`all_gather`'s gradient sums the replicas' cotangents and
        hands each its own rows), and every replica computes the same
        global loss; divided by the replica count, the summed gradients
        are the global loss's.
        """
        if self._embed_function is None:
            self._embed_function = tf.function(
                lambda features: self(features, training=True),
                jit_compile=bool(getattr(self, "_xla_per_replica", False)),
                autograph=False,
            )
        context = tf.distribute.get_replica_context()
        with tf.GradientTape() as tape:
            local = self._embed_function(x)
            gathered = context.all_gather(local, axis=0)
            weights = None
            if sample_weight is not None:
                weights = context.all_gather(
                    tf.cast(sample_weight, "float32"), axis=0
                )
            loss = ranking_loss(gathered, self.scale, weights)
            scaled = self.optimizer.scale_loss(loss) / replicas
        gradients = tape.gradient(scaled, self.trainable_variables)
        apply_reduced_gradients(
            self.optimizer, gradients, self.trainable_variables
        )
        batch = tf.shape(local["anchor"])[0]
        self._loss_tracker.update_state(loss, sample_weight=batch)
        return self.compute_metrics(x, None, local, sample_weight)

    # ---------------------------------------------------------- inference --

    def encode(self, texts, batch_size=32):
        """Embeddings of `texts` (a list of strings) as a float32 numpy
        array `[len(texts), dim]`, in the order given.

        Texts are sorted by length (longest first) and batched; each batch
        is cut to its longest text rounded up to a multiple of
        `ENCODE_LENGTH_STEP` tokens and padded to `batch_size` rows, so
        the compiled function is traced at most once per such length.
        """
        preprocessor = self._text_preprocessor("encode")
        if isinstance(texts, (str, bytes)):
            raise TypeError("encode takes a list of texts, not one text.")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.embedding_dim), "float32")
        if not self.built:
            self.build()
        if self._encode_function is None:
            self._encode_function = tf.function(
                lambda features: self.embed(features), jit_compile=True,
                autograph=False,
            )
        order = np.argsort([-len(text) for text in texts], kind="stable")
        vectors = np.zeros((len(texts), self.embedding_dim), "float32")
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            batch = [texts[row] for row in rows]
            batch += [""] * (batch_size - len(batch))
            features = preprocessor(tf.constant(batch))
            length = int(tf.reduce_max(tf.reduce_sum(
                tf.cast(features["padding_mask"], "int32"), axis=1)))
            # Sorted batches hold texts of similar lengths: pad each to a
            # multiple of ENCODE_LENGTH_STEP, not to a power of two.
            bucket = -(-max(length, 1) // ENCODE_LENGTH_STEP) * (
                ENCODE_LENGTH_STEP)
            features = {key: value[:, :bucket]
                        for key, value in features.items()}
            vectors[rows] = self._encode_function(features).numpy()[
                :len(rows)]
        return vectors

    def similarity(self, texts, other_texts, batch_size=32):
        """Cosine similarities `[len(texts), len(other_texts)]` (numpy)."""
        a = self.encode(texts, batch_size)
        b = self.encode(other_texts, batch_size)
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
        return a @ b.T

    def _text_preprocessor(self, method):
        if self.preprocessor is None:
            raise ValueError(
                f"{method} takes raw text, which needs the model's "
                f"preprocessor: build the TextEmbedder with "
                f"preprocessor=TextEmbedderPreprocessor(tokenizer, "
                f"sequence_length)."
            )
        return self.preprocessor

    def _checked_data(self, data):
        if isinstance(data, dict) and "token_ids" not in data:
            for features in data.values():
                super()._checked_data(features)
            return data
        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            features = spec[0] if isinstance(spec, tuple) else spec
            if "token_ids" not in features:
                return data  # columns: the preprocessor made them
        return super()._checked_data(data)

    def get_config(self):
        config = super().get_config()
        config.update(
            pooling=self.pooling,
            normalize=self.normalize,
            projection_dim=self.projection_dim,
            projection_activation=self.projection_activation,
            scale=self.scale,
        )
        return config


def _feature_dicts(inputs):
    """The backbone input dicts in `inputs` (one, or one per column)."""
    if isinstance(inputs, dict) and inputs and all(
        isinstance(value, dict) for value in inputs.values()
    ):
        return list(inputs.values())
    return [inputs]
