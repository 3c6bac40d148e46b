import keras
import numpy as np
import pytest
import tensorflow as tf

from tfzoo.preprocessing.masked_lm_masker import MaskedLMMasker

PAD, CLS, SEP, MASK = 0, 2, 3, 4
SPECIAL = (PAD, CLS, SEP)
VOCABULARY_SIZE = 1000


def make_masker(**kwargs):
    kwargs.setdefault("vocabulary_size", VOCABULARY_SIZE)
    kwargs.setdefault("mask_token_id", MASK)
    kwargs.setdefault("unselectable_token_ids", SPECIAL)
    kwargs.setdefault("seed", 42)
    return MaskedLMMasker(**kwargs)


def packed_batch(num_sequences=2000, length=64, seed=0):
    """`[CLS] a [SEP] b [SEP]` rows of random words with varying padding."""
    rng = np.random.default_rng(seed)
    token_ids = np.zeros((num_sequences, length), "int32")
    for row in range(num_sequences):
        used = rng.integers(6, length + 1)
        token_ids[row, :used] = rng.integers(5, VOCABULARY_SIZE, used)
        token_ids[row, 0] = CLS
        token_ids[row, rng.integers(2, used - 2)] = SEP
        token_ids[row, used - 1] = SEP
    return token_ids


@pytest.fixture(scope="module")
def masked():
    token_ids = packed_batch()
    outputs = make_masker()(tf.constant(token_ids))
    return token_ids, {key: value.numpy() for key, value in outputs.items()}


def chosen(outputs):
    """(row, position) pairs of the real predictions."""
    rows, slots = np.nonzero(outputs["mask_weights"])
    return rows, outputs["mask_positions"][rows, slots], slots


def test_output_shapes_and_dtypes(masked):
    token_ids, outputs = masked
    assert outputs["token_ids"].shape == token_ids.shape
    assert outputs["token_ids"].dtype == np.int32
    for key in ("mask_positions", "mask_ids"):
        assert outputs[key].shape == (len(token_ids), 20)
        assert outputs[key].dtype == np.int32
    assert outputs["mask_weights"].dtype == np.float32
    assert set(np.unique(outputs["mask_weights"])) <= {0.0, 1.0}


def test_selection_rate_is_15_percent_of_selectable_tokens(masked):
    token_ids, outputs = masked
    selectable = ~np.isin(token_ids, SPECIAL)
    rate = outputs["mask_weights"].sum() / selectable.sum()
    assert abs(rate - 0.15) < 0.015


def test_special_and_padding_positions_are_never_chosen(masked):
    token_ids, outputs = masked
    rows, positions, _ = chosen(outputs)
    assert not np.isin(token_ids[rows, positions], SPECIAL).any()
    # Special and padding tokens are left untouched.
    special = np.isin(token_ids, SPECIAL)
    np.testing.assert_array_equal(
        outputs["token_ids"][special], token_ids[special]
    )


def test_mask_ids_are_the_original_ids_and_padding_slots_are_zero(masked):
    token_ids, outputs = masked
    rows, positions, slots = chosen(outputs)
    np.testing.assert_array_equal(
        outputs["mask_ids"][rows, slots], token_ids[rows, positions]
    )
    unused = outputs["mask_weights"] == 0
    assert (outputs["mask_ids"][unused] == 0).all()
    assert (outputs["mask_positions"][unused] == 0).all()


def test_weights_count_the_distinct_changed_positions(masked):
    token_ids, outputs = masked
    for row in range(50):
        weights = outputs["mask_weights"][row]
        count = int(weights.sum())
        positions = outputs["mask_positions"][row, :count]
        assert (weights[:count] == 1).all() and (weights[count:] == 0).all()
        assert len(set(positions.tolist())) == count
        assert (np.diff(positions) > 0).all()
        changed = np.nonzero(outputs["token_ids"][row] != token_ids[row])[0]
        assert set(changed.tolist()) <= set(positions.tolist())


def test_80_10_10_split(masked):
    token_ids, outputs = masked
    rows, positions, _ = chosen(outputs)
    original = token_ids[rows, positions]
    new = outputs["token_ids"][rows, positions]
    total = len(new)
    masked_share = np.mean(new == MASK)
    kept_share = np.mean(new == original)
    random_share = np.mean((new != MASK) & (new != original))
    assert total > 5000
    assert abs(masked_share - 0.8) < 0.03
    assert abs(random_share - 0.1) < 0.03
    assert abs(kept_share - 0.1) < 0.03
    # Random ids come from the vocabulary and are never special.
    replaced = new[(new != MASK) & (new != original)]
    assert replaced.min() >= 0 and replaced.max() < VOCABULARY_SIZE
    assert not np.isin(replaced, SPECIAL).any()


def test_random_ids_are_uniform_over_the_allowed_ids():
    masker = make_masker(
        vocabulary_size=8, mask_token_rate=0.0, random_token_rate=1.0,
        mask_selection_rate=1.0, max_predictions=64,
    )
    outputs = masker(tf.fill([200, 64], 7))
    drawn = outputs["token_ids"].numpy().ravel()
    values, counts = np.unique(drawn, return_counts=True)
    assert values.tolist() == [1, 4, 5, 6, 7]
    assert counts.min() / counts.max() > 0.85


def test_cap_at_max_predictions():
    token_ids = packed_batch(200)
    outputs = make_masker(mask_selection_rate=0.5, max_predictions=3)(
        tf.constant(token_ids)
    )
    weights = outputs["mask_weights"].numpy()
    assert outputs["mask_positions"].shape == (200, 3)
    selectable = (~np.isin(token_ids, SPECIAL)).sum(axis=1)
    expected = np.minimum(3, np.maximum(1, np.round(0.5 * selectable)))
    np.testing.assert_array_equal(weights.sum(axis=1), expected)
    assert (expected == 3).mean() > 0.8
    changed = (outputs["token_ids"].numpy() != token_ids).sum(axis=1)
    assert changed.max() <= 3


def test_sequences_shorter_than_max_predictions_and_all_padding():
    token_ids = tf.constant([[CLS, 10, 11, SEP], [0, 0, 0, 0]])
    outputs = make_masker(mask_selection_rate=1.0)(token_ids)
    assert outputs["mask_positions"].shape == (2, 20)
    np.testing.assert_array_equal(outputs["mask_weights"].numpy().sum(1), [2, 0])
    assert outputs["mask_positions"].numpy()[0, :2].tolist() == [1, 2]
    assert outputs["mask_ids"].numpy()[0, :2].tolist() == [10, 11]


def test_short_sequences_get_at_least_one_prediction():
    outputs = make_masker()(tf.constant([[CLS, 10, 11, SEP, PAD]]))
    assert outputs["mask_weights"].numpy().sum() == 1


def test_unbatched_input():
    outputs = make_masker(max_predictions=4)(tf.constant([CLS, 10, 11, 12, SEP]))
    assert outputs["token_ids"].shape == (5,)
    assert outputs["mask_positions"].shape == (4,)


def test_static_shapes_in_tf_function():
    masker = make_masker(max_predictions=7)
    traced = tf.function(
        masker, input_signature=[tf.TensorSpec([None, None], tf.int32)]
    )
    outputs = traced.get_concrete_function().structured_outputs
    for key in ("mask_positions", "mask_ids", "mask_weights"):
        assert outputs[key].shape.as_list() == [None, 7]
    assert outputs["mask_weights"].dtype == tf.float32
    # A known length stays known.
    traced = tf.function(
        masker, input_signature=[tf.TensorSpec([None, 64], tf.int32)]
    )
    outputs = traced.get_concrete_function().structured_outputs
    assert outputs["token_ids"].shape.as_list() == [None, 64]


def test_inside_tf_data_map():
    token_ids = packed_batch(64, 32)
    dataset = (
        tf.data.Dataset.from_tensor_slices(token_ids.astype("int64"))
        .batch(16)
        .map(make_masker(max_predictions=6))
    )
    spec = dataset.element_spec
    assert spec["mask_positions"].shape.as_list() == [None, 6]
    assert spec["token_ids"].shape.as_list() == [None, 32]
    batches = list(dataset.as_numpy_iterator())
    assert len(batches) == 4
    for index, batch in enumerate(batches):
        original = token_ids[index * 16:(index + 1) * 16]
        rows, positions, slots = chosen(batch)
        assert len(rows) > 0
        np.testing.assert_array_equal(
            batch["mask_ids"][rows, slots], original[rows, positions]
        )


def test_same_seed_same_masks_in_a_fresh_layer():
    token_ids = tf.constant(packed_batch(100))

    def run(seed):
        masker = make_masker(seed=seed)
        return [
            {key: value.numpy() for key, value in masker(token_ids).items()}
            for _ in range(2)
        ]

    first_run, again, other_seed = run(7), run(7), run(8)
    for key in first_run[0]:
        np.testing.assert_array_equal(first_run[0][key], again[0][key])
        np.testing.assert_array_equal(first_run[1][key], again[1][key])
    # Each call masks afresh, and another seed masks differently.
    positions = "mask_positions"
    assert (first_run[0][positions] != first_run[1][positions]).any()
    assert (first_run[0][positions] != other_seed[0][positions]).any()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mask_selection_rate": 1.5}, "mask_selection_rate"),
        ({"mask_token_rate": -0.1}, "mask_token_rate"),
        ({"random_token_rate": 2.0}, "random_token_rate"),
        ({"mask_token_rate": 0.7, "random_token_rate": 0.4}, "at most 1"),
        ({"max_predictions": 0}, "max_predictions"),
        ({"max_predictions": 2.5}, "max_predictions"),
        ({"mask_token_id": VOCABULARY_SIZE}, "outside the vocabulary"),
        ({"vocabulary_size": 0}, "vocabulary_size"),
        (
            {"vocabulary_size": 3, "mask_token_id": 1,
             "unselectable_token_ids": (0, 1, 2)},
            "no random token",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_masker(**kwargs)


def test_get_config_round_trip():
    masker = make_masker(
        mask_selection_rate=0.2, mask_token_rate=0.7, random_token_rate=0.2,
        max_predictions=9, seed=3,
    )
    config = masker.get_config()
    restored = MaskedLMMasker.from_config(config)
    assert restored.get_config() == config
    assert config["unselectable_token_ids"] == list(SPECIAL)
    revived = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(masker)
    )
    assert isinstance(revived, MaskedLMMasker)
    token_ids = tf.constant(packed_batch(20))
    expected = masker(token_ids)
    for layer in (restored, revived):
        outputs = layer(token_ids)
        for key in expected:
            np.testing.assert_array_equal(outputs[key], expected[key])
