import numpy as np
import pytest
import tensorflow as tf

from tfzoo.generation import (
    SamplingOptions,
    check_sampling_arguments,
    choose_next_tokens,
)
from tfzoo.generation.sampling import _gumbel_noise
from tfzoo.generation import sampling

VOCABULARY = 12
DRAWS = 2000


def logits_row(seed=0, scale=1.5):
    return np.random.default_rng(seed).normal(0, scale, VOCABULARY).astype(
        "float32")


def options(batch, greedy=False, temperature=1.0, top_k=0, top_p=1.0,
            seeds=None, filters=True):
    """Per-row options; scalars are repeated over the batch."""

    def column(value, dtype):
        return tf.constant(np.broadcast_to(value, (batch,)), dtype)

    return SamplingOptions(
        greedy=column(greedy, "bool"),
        temperature=column(temperature, "float32"),
        top_k=column(top_k, "int32"),
        top_p=column(top_p, "float32"),
        seed=column(np.arange(batch) if seeds is None else seeds, "int32"),
        filters=filters,
    )


def draws(logits, sampling_options, step=0):
    """One sample per row; rows have their own seeds."""
    batch = sampling_options.seed.shape[0]
    tiled = np.broadcast_to(logits, (batch, VOCABULARY))
    return choose_next_tokens(tf.constant(tiled), sampling_options,
                              step).numpy()


def softmax(logits):
    e = np.exp(logits - logits.max())
    return e / e.sum()


def frequencies(tokens):
    return np.bincount(tokens, minlength=VOCABULARY) / len(tokens)


def assert_matches_distribution(tokens, probabilities):
    """Each token's frequency within 4 standard errors of its probability
    (plus a little slack for tiny probabilities)."""
    observed = frequencies(tokens)
    error = np.sqrt(probabilities * (1 - probabilities) / len(tokens))
    assert np.all(np.abs(observed - probabilities) <= 4 * error + 2e-3), (
        observed.round(3), probabilities.round(3))


def test_samples_follow_the_softmax():
    logits = logits_row()
    tokens = draws(logits, options(DRAWS))
    assert_matches_distribution(tokens, softmax(logits))


def test_noise_over_steps_of_one_seed_also_follows_the_softmax():
    logits = logits_row(1)
    choose = tf.function(
        lambda step: choose_next_tokens(tf.constant(logits[None]),
                                        options(1, seeds=[7]), step))
    tokens = np.array([int(choose(tf.constant(step))[0])
                       for step in range(1500)])
    assert_matches_distribution(tokens, softmax(logits))


@pytest.mark.parametrize("temperature", [0.5, 3.0])
def test_temperature_scales_the_distribution(temperature):
    logits = logits_row(2)
    tokens = draws(logits, options(DRAWS, temperature=temperature))
    assert_matches_distribution(tokens, softmax(logits / temperature))


def test_large_temperature_spreads_samples_towards_uniform():
    logits = logits_row(3, scale=3.0)
    cold = frequencies(draws(logits, options(DRAWS, temperature=1.0)))
    hot = frequencies(draws(logits, options(DRAWS, temperature=100.0)))
    uniform = np.full(VOCABULARY, 1 / VOCABULARY)
    assert np.abs(hot - uniform).sum() < 0.1
    assert np.abs(cold - uniform).sum() > 0.5
    assert_matches_distribution(
        draws(logits, options(DRAWS, temperature=100.0)),
        softmax(logits / 100.0))


@pytest.mark.parametrize("k", [1, 3, 7])
def test_top_k_samples_only_the_k_largest(k):
    logits = logits_row(4)
    tokens = draws(logits, options(DRAWS, top_k=k))
    allowed = np.argsort(-logits)[:k]
    assert set(tokens) == set(allowed.tolist())
    renormalised = np.zeros(VOCABULARY)
    renormalised[allowed] = softmax(logits[allowed])
    assert_matches_distribution(tokens, renormalised)


def nucleus(logits, top_p):
    """The most likely tokens, fewest first, until they hold top_p."""
    order = np.argsort(-logits)
    cumulative = np.cumsum(softmax(logits)[order])
    size = int(np.searchsorted(cumulative, top_p - 1e-7) + 1)
    return order[:size]


@pytest.mark.parametrize("top_p", [0.3, 0.6, 0.9])
def test_top_p_samples_only_the_nucleus(top_p):
    logits = logits_row(5, scale=1.0)
    tokens = draws(logits, options(DRAWS, top_p=top_p))
    allowed = nucleus(logits, top_p)
    assert 1 < len(allowed) < VOCABULARY
    assert set(tokens) == set(allowed.tolist())
    renormalised = np.zeros(VOCABULARY)
    renormalised[allowed] = softmax(logits[allowed])
    assert_matches_distribution(tokens, renormalised)


def test_top_k_and_top_p_together_keep_the_smaller_set():
    logits = logits_row(6)
    tokens = draws(logits, options(DRAWS, top_k=2, top_p=0.9))
    assert set(tokens) == set(np.argsort(-logits)[:2].tolist())
    tokens = draws(logits, options(DRAWS, top_k=9, top_p=0.5))
    assert set(tokens) == set(nucleus(logits, 0.5).tolist())


def test_per_row_options_and_greedy_rows_in_one_batch():
    logits = np.stack([logits_row(seed) for seed in range(4)])
    batch_options = options(4, greedy=[True, False, False, False],
                            top_k=[0, 1, 0, 0], top_p=[1.0, 1.0, 1e-6, 1.0],
                            seeds=[5, 5, 5, 5])
    tokens = choose_next_tokens(tf.constant(logits), batch_options,
                                0).numpy()
    # Greedy, top_k=1 and a tiny nucleus all take the argmax.
    np.testing.assert_array_equal(tokens[:3], logits[:3].argmax(-1))
    # The sampled row equals that row sampled on its own.
    alone = choose_next_tokens(tf.constant(logits[3:]),
                               options(1, seeds=[5]), 0).numpy()
    assert tokens[3] == alone[0]


def test_a_rows_samples_do_not_depend_on_the_rest_of_the_batch():
    rng = np.random.default_rng(7)
    logits = rng.normal(0, 1.0, (6, VOCABULARY)).astype("float32")
    other_logits = rng.normal(0, 1.0, (6, VOCABULARY)).astype("float32")
    other_logits[0] = logits[0]
    first = options(6, temperature=[1.0, 2.0, 1.0, 1.0, 0.5, 1.0],
                    top_k=[0, 3, 0, 5, 0, 0], seeds=[11, 1, 2, 3, 4, 5])
    second = options(6, temperature=[1.0, 0.3, 9.0, 1.0, 1.0, 1.0],
                     top_p=[1.0, 0.5, 1.0, 0.2, 1.0, 1.0],
                     seeds=[11, 99, 98, 97, 96, 95],
                     greedy=[False, True, False, False, True, False])
    row_alone = options(1, seeds=[11])
    samples = []
    for step in range(40):
        a = choose_next_tokens(tf.constant(logits), first, step).numpy()
        b = choose_next_tokens(tf.constant(other_logits), second,
                               step).numpy()
        c = choose_next_tokens(tf.constant(logits[:1]), row_alone,
                               step).numpy()
        assert a[0] == b[0] == c[0]
        samples.append(a[0])
    # The row really samples: it does not keep picking one token.
    assert len(set(samples)) >= 4


def test_seed_and_step_both_change_the_noise():
    logits = np.zeros((1, 1000), "float32")  # uniform: noise alone decides
    choose = lambda seed, step: int(choose_next_tokens(  # noqa: E731
        tf.constant(logits), options(1, seeds=[seed]), step)[0])
    assert choose(1, 0) == choose(1, 0)
    by_seed = {choose(seed, 0) for seed in range(20)}
    by_step = {choose(1, step) for step in range(20)}
    assert len(by_seed) >= 15 and len(by_step) >= 15


def test_xla_and_eager_choose_the_same_tokens():
    rng = np.random.default_rng(8)
    logits = tf.constant(rng.normal(0, 2, (64, VOCABULARY)), "float32")
    sampling = options(64, temperature=0.7, top_k=rng.integers(0, 8, 64),
                       top_p=rng.uniform(0.2, 1.0, 64).astype("float32"),
                       seeds=rng.integers(0, 2**31 - 1, 64))
    eager = choose_next_tokens(logits, sampling, 5).numpy()

    @tf.function(jit_compile=True)
    def compiled(logits, greedy, temperature, top_k, top_p, seed, step):
        return choose_next_tokens(
            logits,
            SamplingOptions(greedy, temperature, top_k, top_p, seed),
            step,
        )

    compiled = compiled(logits, sampling.greedy, sampling.temperature,
                        sampling.top_k, sampling.top_p, sampling.seed,
                        tf.constant(5)).numpy()
    np.testing.assert_array_equal(compiled, eager)


def test_all_greedy_options_take_the_argmax():
    logits = np.random.default_rng(9).normal(size=(5, VOCABULARY))
    tokens = choose_next_tokens(tf.constant(logits, "float32"),
                                SamplingOptions.all_greedy(5), 3).numpy()
    np.testing.assert_array_equal(tokens, logits.argmax(-1))


def test_build_repeats_python_values_over_the_batch():
    built = SamplingOptions.build(3, sampler="sample", temperature=0.5,
                                  top_k=4, seed=9)
    assert built.greedy.numpy().tolist() == [False] * 3
    np.testing.assert_allclose(built.temperature.numpy(), [0.5] * 3)
    assert built.top_k.numpy().tolist() == [4] * 3
    np.testing.assert_allclose(built.top_p.numpy(), [1.0] * 3)
    assert built.seed.numpy().tolist() == [9] * 3
    assert built.filters and built.samples
    plain = SamplingOptions.build(2, sampler="sample")
    assert not plain.filters and plain.samples
    assert not SamplingOptions.build(2).samples


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0.0}, r"temperature must be > 0, got 0\.0\. For "
                               r"greedy decoding use sampler='greedy'\."),
        ({"temperature": float("nan")}, r"temperature must be > 0, got nan"),
        ({"top_k": 0}, r"top_k must be an integer >= 1, got 0\."),
        ({"top_k": 1.5}, r"top_k must be an integer >= 1, got 1\.5\."),
        ({"top_p": 0}, r"top_p must be in \(0, 1\], got 0\."),
        ({"top_p": 1.01}, r"top_p must be in \(0, 1\], got 1\.01\."),
        ({"top_p": -0.5}, r"top_p must be in \(0, 1\], got -0\.5\."),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_sampling_arguments(**kwargs)
    with pytest.raises(ValueError, match=message):
        SamplingOptions.build(2, sampler="sample", **kwargs)


def test_good_arguments_pass():
    check_sampling_arguments(temperature=1e-3, top_k=1, top_p=1.0)
    check_sampling_arguments(temperature=5, top_k=10**6, top_p=1e-9)


def test_unknown_sampler():
    with pytest.raises(
        ValueError,
        match=r"sampler must be 'greedy', 'sample' or 'beam', got 'topk'\.",
    ):
        SamplingOptions.build(2, sampler="topk")


def test_noise_is_finite_so_masked_tokens_stay_out():
    """Seed 0 at step 68 draws the largest uniform for token 5593 of a
    GPT-2-sized vocabulary; rounded to 1.0 its noise was +inf, and top_k=1
    picked that token instead of the argmax."""
    vocabulary = 50257
    noise = _gumbel_noise(tf.constant([0]), 68, vocabulary).numpy()
    assert np.isfinite(noise).all()
    assert noise.max() > 15  # the extreme draw is still the largest noise
    logits = np.zeros((1, vocabulary), "float32")
    logits[0, 7] = 1.0
    chosen = choose_next_tokens(tf.constant(logits),
                                options(1, top_k=1, seeds=[0]), 68)
    assert chosen.numpy().tolist() == [7]


def reference_kept(logits, top_k, top_p):
    """Which tokens top-k and top-p keep, by the definition (numpy)."""
    kept = np.zeros(logits.shape, bool)
    for row, (values, k, p) in enumerate(zip(logits, top_k, top_p)):
        ordered = np.sort(values.astype("float64"))[::-1]
        k = len(values) if k == 0 else min(k, len(values))
        threshold = ordered[k - 1]
        if p < 1:
            probabilities = np.exp(ordered - ordered.max())
            probabilities /= probabilities.sum()
            before = np.cumsum(probabilities) - probabilities
            nucleus = max(int((before < p).sum()), 1)
            threshold = max(threshold, ordered[nucleus - 1])
        kept[row] = values >= threshold
    return kept


@pytest.mark.parametrize("jit_compile", [False, True])
def test_top_k_and_top_p_from_the_largest_logits_or_a_full_sort(jit_compile):
    # Rows from flat to peaked; options whose sets fit in the CANDIDATES
    # largest logits, and options that need the whole vocabulary sorted.
    rng = np.random.default_rng(4)
    scales = np.linspace(0.2, 6.0, 12)[:, None]
    logits = (rng.standard_normal((12, 1000)) * scales).astype("float32")
    top_k = np.array([0, 1, 5, 40, 128, 129, 500, 1000, 0, 40, 0, 3000],
                     "int32")
    top_p = np.array([0.9, 1.0, 0.5, 0.95, 0.99, 1.0, 0.3, 0.9, 1.0, 1.0,
                      0.999, 0.8], "float32")
    keep = tf.function(sampling._keep_top_k_and_top_p,
                       jit_compile=jit_compile)
    for rows in (slice(0, 12), slice(6, 12)):
        masked = keep(tf.constant(logits[rows]), tf.constant(top_k[rows]),
                      tf.constant(top_p[rows])).numpy()
        kept = masked > sampling.MASKED_LOGIT
        np.testing.assert_array_equal(
            kept, reference_kept(logits[rows], top_k[rows], top_p[rows]))
    # The first batch needs the full sort, the second does not.
    largest = tf.math.top_k(logits, sampling.CANDIDATES).values
    _, settled = sampling._threshold(
        largest, tf.reduce_logsumexp(logits, axis=-1),
        tf.where(top_k > 0, tf.minimum(top_k, 1000), 1000), top_p, 1000)
    settled = settled.numpy()
    assert not settled.all() and settled[6:].all()
