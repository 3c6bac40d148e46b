"""Choosing the next token: greedy, temperature, top-k and top-p.

Everything runs in the graph, under XLA and in plain TensorFlow, with
per-row options so that one batch can mix requests. Sampling uses the
Gumbel-max trick with counter-based noise: the noise for row `r` at step
`s` depends only on that row's seed and `s`, so a request samples the same
tokens whatever else shares its batch.

>>> import tensorflow as tf
>>> logits = tf.constant([[0.0, 3.0, 1.0]])
>>> choose_next_tokens(logits, SamplingOptions.all_greedy(1), step=0).numpy()
array([1], dtype=int32)
"""

import dataclasses

import numpy as np
import tensorflow as tf

MASKED_LOGIT = -1e9
# The largest logits from which top-k/top-p thresholds are found first.
CANDIDATES = 128


def check_sampling_arguments(temperature=1.0, top_k=None, top_p=None):
    """Raises a clear `ValueError` for out-of-range sampler arguments."""
    if temperature is not None and not temperature > 0:
        raise ValueError(
            f"temperature must be > 0, got {temperature}. For greedy "
            f"decoding use sampler='greedy'."
        )
    if top_k is not None and (int(top_k) != top_k or top_k < 1):
        raise ValueError(f"top_k must be an integer >= 1, got {top_k}.")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}.")


@dataclasses.dataclass
class SamplingOptions:
    """Per-row sampler settings, as `[batch]` tensors.

    `greedy` (bool) rows take the argmax; other rows sample from
    `logits / temperature`, restricted to the `top_k` most likely tokens
    (0: no limit) and to the smallest set whose probability reaches
    `top_p` (1.0: no limit). `seed` (int32) makes sampling repeatable: a
    given seed gives every row that seed; None draws a fresh seed per row.
    """

    greedy: tf.Tensor
    temperature: tf.Tensor
    top_k: tf.Tensor
    top_p: tf.Tensor
    seed: tf.Tensor
    # Python-level: whether any row filters by top-k/top-p (which costs a
    # partial top-k of the vocabulary every step) or samples at all.
    filters: bool = True
    samples: bool = True

    @classmethod
    def all_greedy(cls, batch_size):
        """Greedy decoding for every row."""
        return cls.build(batch_size, sampler="greedy")

    @classmethod
    def build_in_graph(cls, batch_size):
        """Greedy options for a batch whose size is a tensor."""
        return cls(
            greedy=tf.fill([batch_size], True),
            temperature=tf.ones([batch_size]),
            top_k=tf.zeros([batch_size], tf.int32),
            top_p=tf.ones([batch_size]),
            seed=tf.zeros([batch_size], tf.int32),
            filters=False,
            samples=False,
        )

    @classmethod
    def build(cls, batch_size, sampler="greedy", temperature=1.0, top_k=None,
              top_p=None, seed=None):
        """Options for a whole batch from Python values."""
        if sampler not in ("greedy", "sample"):
            raise ValueError(
                f"sampler must be 'greedy', 'sample' or 'beam', got "
                f"{sampler!r}."
            )
        if sampler == "sample":
            check_sampling_arguments(temperature, top_k, top_p)
        if seed is None:
            # Fresh draws each call, and per row: identical prompts in one
            # batch get different samples. (keras.utils.set_random_seed
            # makes these repeatable too.)
            seeds = np.random.randint(0, 2**31 - 1, size=batch_size)
        elif isinstance(seed, (int, np.integer)) and 0 <= seed < 2**31:
            seeds = np.full(batch_size, int(seed))
        else:
            raise ValueError(
                f"seed must be an integer in [0, 2**31), got {seed!r}."
            )

        def fill(value, dtype):
            return tf.fill([batch_size], tf.constant(value, dtype))

        return cls(
            greedy=fill(sampler == "greedy", "bool"),
            temperature=fill(float(temperature), "float32"),
            top_k=fill(int(top_k or 0), "int32"),
            top_p=fill(float(top_p or 1.0), "float32"),
            seed=tf.constant(seeds, "int32"),
            filters=sampler == "sample" and bool(top_k or top_p),
            samples=sampler == "sample",
        )


def choose_next_tokens(logits, options, step):
    """The next token of each row, int32 `[batch]`.

    Args:
        logits: float `[batch, vocabulary]`.
        options: a `SamplingOptions`.
        step: int scalar, the position being generated (varies the noise).
    """
    logits = tf.cast(logits, "float32")
    best = tf.argmax(logits, axis=-1, output_type="int32")
    if not options.samples:
        return best

    def sampled():
        scaled = logits / options.temperature[:, None]
        if options.filters:
            scaled = _keep_top_k_and_top_p(scaled, options.top_k,
                                           options.top_p)
        noise = _gumbel_noise(options.seed, step, tf.shape(logits)[1])
        chosen = tf.argmax(scaled + noise, axis=-1, output_type="int32")
        return tf.where(options.greedy, best, chosen)

    # top_k=1 keeps only the most likely token: when every row is greedy
    # or asks for that, the argmax alone gives the same tokens, without
    # the thresholds and noise.
    return tf.cond(
        tf.reduce_all(options.greedy | (options.top_k == 1)),
        lambda: best, sampled,
    )


def _keep_top_k_and_top_p(logits, top_k, top_p):
    """Masks logits outside each row's top-k and nucleus (top-p) set.

    The threshold comes from the `CANDIDATES` largest logits (a partial
    top-k, fast), and from a sort of the whole vocabulary (slow: 37 ms a
    step for 8 rows of 50257 in plain TensorFlow, 130 ms under XLA) only
    when a row's sets reach beyond them.
    """
    vocabulary_size = logits.shape[-1]
    if vocabulary_size is None:
        vocabulary_size = tf.shape(logits)[-1]
    k = tf.where(top_k > 0, tf.minimum(top_k, vocabulary_size),
                 vocabulary_size)
    log_total = tf.reduce_logsumexp(logits, axis=-1)

    def sorted_threshold():
        ordered = tf.sort(logits, axis=-1, direction="DESCENDING")
        return _threshold(ordered, log_total, k, top_p, vocabulary_size)[0]

    if isinstance(vocabulary_size, int) and vocabulary_size > CANDIDATES:
        largest = tf.math.top_k(logits, CANDIDATES).values
        threshold, settled = _threshold(largest, log_total, k, top_p,
                                        vocabulary_size)
        threshold = tf.cond(tf.reduce_all(settled), lambda: threshold,
                            sorted_threshold)
    else:
        threshold = sorted_threshold()
    return tf.where(logits >= threshold[:, None], logits, MASKED_LOGIT)


def _threshold(ordered, log_total, k, top_p, vocabulary_size):
    """Each row's smallest kept logit, from its largest logits `ordered`
    (descending), and whether those settle it.

    The top-k bound is the k-th largest logit (none when `k` is the whole
    vocabulary); the nucleus bound is the smallest logit of the smallest
    set whose probability reaches `top_p` (none when `top_p >= 1`).
    """
    count = tf.shape(ordered)[1]
    probabilities = tf.exp(ordered - log_total[:, None])
    # Probability of the tokens ranked strictly above each token; keep a
    # token while those hold less than top_p.
    before = tf.cumsum(probabilities, axis=-1, exclusive=True)
    nucleus_size = tf.maximum(
        tf.reduce_sum(tf.cast(before < top_p[:, None], "int32"), axis=-1), 1
    )
    k_is_listed = k <= count
    k_limits = k < vocabulary_size
    nucleus_is_listed = nucleus_size < count
    p_limits = top_p < 1.0
    lowest = tf.fill(tf.shape(top_p), float("-inf"))
    by_k = tf.where(
        k_is_listed & k_limits,
        tf.gather(ordered, tf.minimum(k, count) - 1, batch_dims=1), lowest,
    )
    by_p = tf.where(
        nucleus_is_listed & p_limits,
        tf.gather(ordered, nucleus_size - 1, batch_dims=1), lowest,
    )
    # A nucleus larger than the listed logits lies below the k-th largest
    # when k is listed; a listed nucleus lies above any k-th largest that
    # is not.
    settled = (k_is_listed | (nucleus_is_listed & p_limits)
               | (~k_limits & ~p_limits))
    return tf.maximum(by_k, by_p), settled


def _gumbel_noise(seeds, step, vocabulary_size):
    """Gumbel(0, 1) noise `[batch, vocabulary]` from (seed, step, token).

    A counter-based generator: an integer hash of the three numbers,
    turned into a uniform float in (0, 1).
    """
    seeds = tf.cast(seeds, "int64")[:, None]
    tokens = tf.cast(tf.range(vocabulary_size), "int64")[None]
    step = tf.cast(step, "int64")
    counter = (seeds * 0x9E3779B1 + step * 0x85EBCA77 + tokens) & 0xFFFFFFFF
    bits = _mix32(tf.bitwise.bitwise_xor(_mix32(counter),
                                         seeds & 0xFFFFFFFF))
    uniform = (tf.cast(_shift(bits, 8), "float32") + 0.5) / float(1 << 24)
    # The largest, (2**24 - 0.5) / 2**24, rounds to 1.0 in float32, whose
    # noise is +inf and would beat even masked tokens: stay below 1.
    uniform = tf.minimum(uniform, 1.0 - 2.0**-24)
    return -tf.math.log(-tf.math.log(uniform))


def _mix32(x):
    """A 32-bit integer hash finaliser (xor-shift-multiply rounds)."""
    xor = tf.bitwise.bitwise_xor
    x = xor(x, _shift(x, 16)) * 0x7FEB352D & 0xFFFFFFFF
    x = xor(x, _shift(x, 15)) * 0x846CA68B & 0xFFFFFFFF
    return xor(x, _shift(x, 16))


def _shift(x, bits):
    return tf.bitwise.right_shift(x, tf.constant(bits, x.dtype))
