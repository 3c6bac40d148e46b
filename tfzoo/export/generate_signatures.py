"""Serving signatures of a GenerativeTask (GPTCausalLM): prompt text in,
generated text out.

- `serving_default`: `prompt` string `[batch]`; greedy decoding of up to
  the export's `max_new_tokens`.
- `generate`: `prompt` string `[batch]` plus, per prompt,
  `max_new_tokens` int32 (>= 1), `temperature` float32 (> 0), `top_k`
  int32 (>= 1; `top_k=1` is greedy; the vocabulary size or more means
  no limit), `top_p` float32 (in (0, 1]; 1 means no limit) and `seed`
  int32. Every input is batched, so TF Serving's request batching can
  merge requests; each row keeps its own options and seed. A step whose
  rows all have `top_k=1` only takes the argmax (the same tokens, without
  the top-k/top-p thresholds).

Both return `generated_text` (the continuation) and `text` (prompt plus
continuation) string `[batch]`, `generated_token_ids` int32 `[batch,
longest]` padded with -1, and `num_generated_tokens` int32 `[batch]`.

The decode loop is a plain `tf.while_loop` over the key/value cache using
core TensorFlow ops only, so stock `tensorflow_model_server` runs it
without XLA. An empty prompt starts from the tokenizer's end-of-text token
("<|endoftext|>"; "</s>" for SentencePiece). A prompt plus
`max_new_tokens` longer than the model's context, or an out-of-range
sampler argument, fails the request with INVALID_ARGUMENT and a message
naming the input.

With `xla_generate=True` the export adds `generate_xla`: the inputs and
outputs of `generate`, with the id-level decode in a
`tf.function(jit_compile=True)` (tokenizing, argument checks and
detokenizing stay outside XLA). Prompts are padded to a length bucket
(16, 32, ... the context) and the room for new tokens to a bucket of the
batch's largest `max_new_tokens`, so a server compiles one program per
batch size and bucket pair. Only a server started with
`--xla_cpu_compilation_enabled=true` runs it; others answer INTERNAL "XLA
compilation disabled". It has no warmup records: TF Serving fails a
version's load when a warmup request fails, which such a server would.
"""

import tensorflow as tf

from tfzoo.export import warmup
from tfzoo.generation.continuation_text import continuation_text
from tfzoo.generation.decode_loop import decode
from tfzoo.generation.sampling import SamplingOptions
from tfzoo.layers.cache_update import plain_tensorflow_cache_updates
from tfzoo.preprocessing.length_buckets import sequence_buckets
from tfzoo.preprocessing.length_buckets import smallest_bucket

DEFAULT_MAX_NEW_TOKENS = 32


def generate_signatures(model, max_new_tokens=DEFAULT_MAX_NEW_TOKENS,
                        xla_generate=False):
    """`{name: concrete function}` for a `GenerativeTask` with a tokenizer.

    `xla_generate` adds the XLA-compiled `generate_xla` (see the module
    doc).
    """
    tokenizer = model.tokenizer
    if tokenizer is None:
        raise ValueError(
            "Exporting a GPTCausalLM needs its tokenizer: build it with "
            "GPTCausalLM(backbone, tokenizer=BytePairTokenizer(...)) or "
            "tokenizer=SentencePieceTokenizer(...)."
        )
    begin_id = tokenizer.end_of_text_id
    if begin_id is None:
        raise ValueError(
            "The tokenizer has no end-of-text token ('<|endoftext|>' in "
            "BPE, '</s>' in SentencePiece), which starts empty prompts and "
            "ends generation; add it to the vocabulary."
        )
    backbone = model.backbone
    context = backbone.max_sequence_length
    vocabulary_size = backbone.vocabulary_size
    buckets = sequence_buckets(context)

    def tokenized(prompt, new_tokens):
        """Right-padded prompt ids and lengths, after the length checks."""
        ids = tokenizer.tokenize(prompt)
        empty = tf.cast(ids.row_lengths() == 0, tf.int64)
        ids = tf.concat(
            [tf.RaggedTensor.from_row_lengths(
                tf.fill([tf.reduce_sum(empty)], begin_id), empty), ids],
            axis=1,
        )
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        checks = [
            tf.debugging.assert_greater_equal(
                new_tokens, 1, message="max_new_tokens must be >= 1"),
            tf.debugging.assert_less_equal(
                lengths + new_tokens, context,
                message=f"prompt tokens plus max_new_tokens exceed the "
                        f"context of {context} tokens; shorten the "
                        f"prompt or lower max_new_tokens"),
        ]
        with tf.control_dependencies(checks):
            return ids.to_tensor(0), lengths

    def outputs(prompt, token_ids, lengths, final_lengths):
        positions = tf.range(tf.shape(token_ids)[1])[None]
        generated_mask = tf.logical_and(positions >= lengths[:, None],
                                        positions < final_lengths[:, None])
        generated = tf.ragged.boolean_mask(token_ids, generated_mask)
        generated_text = continuation_text(tokenizer, token_ids, lengths,
                                           final_lengths)
        return {
            "generated_text": generated_text,
            "text": tf.strings.join([prompt, generated_text]),
            "generated_token_ids": generated.to_tensor(-1),
            "num_generated_tokens": tf.cast(generated.row_lengths(),
                                            tf.int32),
        }

    def run(prompt, new_tokens, options):
        prompt_ids, lengths = tokenized(prompt, new_tokens)
        capacity = tf.reduce_max(tf.concat([new_tokens, [0]], 0))
        token_ids, final_lengths = decode(
            backbone, model.output_projection(),
            prompt_ids, lengths, new_tokens, capacity, options,
            tf.constant([begin_id], tf.int32),
        )
        return outputs(prompt, token_ids, lengths, final_lengths)

    def sampling_options(temperature, top_k, top_p, seed):
        """`generate`'s per-row options, after the range checks."""
        checks = [
            tf.debugging.assert_positive(
                temperature, message="temperature must be > 0"),
            tf.debugging.assert_greater_equal(
                top_k, 1, message="top_k must be >= 1 (1 is greedy)"),
            tf.debugging.assert_positive(
                top_p, message="top_p must be in (0, 1]"),
            tf.debugging.assert_less_equal(
                top_p, 1.0, message="top_p must be in (0, 1]"),
        ]
        with tf.control_dependencies(checks):
            top_k = tf.minimum(top_k, vocabulary_size)
        return SamplingOptions(
            greedy=tf.zeros_like(top_k, tf.bool), temperature=temperature,
            top_k=top_k, top_p=top_p, seed=seed,
        )

    @tf.function(autograph=False)
    def serve_default(prompt):
        batch = tf.shape(prompt)[0]
        return run(prompt, tf.fill([batch], max_new_tokens),
                   SamplingOptions.build_in_graph(batch))

    @tf.function(autograph=False)
    def generate(prompt, max_new_tokens, temperature, top_k, top_p, seed):
        return run(prompt, max_new_tokens,
                   sampling_options(temperature, top_k, top_p, seed))

    @tf.function(jit_compile=True, autograph=False)
    def decode_ids(prompt_ids, lengths, new_tokens, capacity, greedy,
                   temperature, top_k, top_p, seed):
        """The id-level decode as one XLA program."""
        # `capacity` sizes tensors, so XLA takes it as a compile-time
        # constant: one program per value (a bucket), batch and width.
        return decode(
            backbone, model.output_projection(),
            prompt_ids, lengths, new_tokens, capacity,
            SamplingOptions(greedy, temperature, top_k, top_p, seed),
            tf.constant([begin_id], tf.int32),
        )

    @tf.function(autograph=False)
    def generate_xla(prompt, max_new_tokens, temperature, top_k, top_p,
                     seed):
        # Checked here, outside XLA, which drops Assert ops.
        options = sampling_options(temperature, top_k, top_p, seed)
        prompt_ids, lengths = tokenized(prompt, max_new_tokens)
        # As GPTCausalLM.generate pads: the prompt to its length bucket,
        # new tokens to theirs, within the context.
        width = smallest_bucket(tf.reduce_max(lengths), buckets)
        capacity = tf.minimum(
            smallest_bucket(tf.reduce_max(max_new_tokens), buckets),
            context - width,
        )
        prompt_ids = tf.pad(
            prompt_ids, [[0, 0], [0, width - tf.shape(prompt_ids)[1]]]
        )
        token_ids, final_lengths = decode_ids(
            prompt_ids, lengths, max_new_tokens, capacity, options.greedy,
            options.temperature, options.top_k, options.top_p, options.seed,
        )
        return outputs(prompt, token_ids, lengths, final_lengths)

    strings = tf.TensorSpec([None], tf.string)
    ints = tf.TensorSpec([None], tf.int32)
    floats = tf.TensorSpec([None], tf.float32)
    inputs = (strings, ints, floats, ints, floats, ints)
    # Traced here, where cache writes use core TF ops (no XLA op).
    with plain_tensorflow_cache_updates():
        signatures = {
            "serving_default": serve_default.get_concrete_function(
                tf.TensorSpec([None], tf.string, name="prompt")),
            "generate": generate.get_concrete_function(*inputs),
        }
    if xla_generate:
        # Traced outside that context: XLA's in-place cache writes.
        signatures["generate_xla"] = generate_xla.get_concrete_function(
            *inputs)
    return signatures


def generate_warmup_logs(max_new_tokens=DEFAULT_MAX_NEW_TOKENS):
    """A few short requests of each signature, including an empty prompt."""
    prompts = ["", "Once upon a time, a small model"]
    count = len(prompts)
    return [
        warmup.predict_log("serving_default", {"prompt": prompts}),
        warmup.predict_log("generate", {
            "prompt": prompts,
            "max_new_tokens": [min(4, max_new_tokens)] * count,
            "temperature": [1.0] * count,
            "top_k": [1, 40][:count],
            "top_p": [1.0, 0.9][:count],
            "seed": list(range(count)),
        }),
    ]
