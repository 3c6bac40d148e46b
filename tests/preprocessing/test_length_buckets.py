import numpy as np
import tensorflow as tf

from tfzoo.preprocessing.length_buckets import call_on_length_bucket
from tfzoo.preprocessing.length_buckets import sequence_buckets
from tfzoo.models import BertBackbone
from tfzoo.models import BertClassifier
from tfzoo.models import BertTokenClassifier


def features(lengths, sequence_length=64, seed=0):
    rng = np.random.default_rng(seed)
    mask = (np.arange(sequence_length)[None] < np.array(lengths)[:, None])
    ids = rng.integers(5, 100, [len(lengths), sequence_length]) * mask
    return {
        "token_ids": tf.constant(ids, tf.int32),
        "segment_ids": tf.zeros_like(ids, tf.int32),
        "padding_mask": tf.constant(mask, tf.int32),
    }


def backbone():
    return BertBackbone(vocabulary_size=100, num_layers=2, num_heads=2,
                        hidden_dim=32, intermediate_dim=64,
                        max_sequence_length=64)


def test_buckets_double_up_to_the_sequence_length():
    assert sequence_buckets(16) == [16]
    assert sequence_buckets(100) == [16, 32, 64, 100]


def test_cut_batches_give_the_full_length_results():
    classifier = BertClassifier(backbone(), num_classes=3)
    tagger = BertTokenClassifier(backbone(), num_classes=4)
    for lengths in ([3, 7], [12, 20], [40, 5], [64, 64], []):
        batch = features(lengths)
        np.testing.assert_allclose(
            call_on_length_bucket(classifier, batch),
            classifier(batch, training=False), atol=1e-5,
        )
        tokens = call_on_length_bucket(tagger, batch, pad_sequence_axis=True)
        full = tagger(batch, training=False)
        assert tokens.shape == full.shape
        mask = batch["padding_mask"].numpy().astype(bool)
        np.testing.assert_allclose(tokens.numpy()[mask], full.numpy()[mask],
                                   atol=1e-5)
        bucket = next(b for b in sequence_buckets(64)
                      if b >= max(lengths, default=0))
        assert not np.any(tokens.numpy()[:, bucket:])  # zero padding
