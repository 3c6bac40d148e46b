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

Encoder-decoders (`T5Seq2SeqLM`, any `GenerativeTask` with a
`decoder_start_token_id`) map a source `text` to a target instead (see
`encoder_decoder_signatures`): `serving_default` (`text` in, greedy),
`generate` (`text` plus the options above and `num_beams`, so a request
can ask for beam search) and `predict_token_ids` (the model's logits from
token ids). They return `generated_text` (the target alone),
`generated_token_ids` padded with -1 and `num_generated_tokens`;
`generate` also returns `scores`.
"""

import dataclasses

import tensorflow as tf

from tfzoo.export import warmup
from tfzoo.generation.beam_search import beam_search
from tfzoo.generation.continuation_text import continuation_text
from tfzoo.generation.decode_loop import decode
from tfzoo.generation.sampling import SamplingOptions
from tfzoo.layers.cache_update import plain_tensorflow_cache_updates
from tfzoo.preprocessing.length_buckets import sequence_buckets
from tfzoo.preprocessing.length_buckets import smallest_bucket

DEFAULT_MAX_NEW_TOKENS = 32
# The most beams `generate` searches per row: each beam holds its own
# self-attention cache and copy of the cross-attention context.
MAX_NUM_BEAMS = 16


def checked_sampling_options(temperature, top_k, top_p, seed,
                             vocabulary_size):
    """`generate`'s per-row `SamplingOptions`, after the range checks
    (each failing the request with INVALID_ARGUMENT naming its input)."""
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


def generate_signatures(model, max_new_tokens=DEFAULT_MAX_NEW_TOKENS,
                        xla_generate=False):
    """`{name: concrete function}` for a `GenerativeTask` with a tokenizer.

    `xla_generate` adds the XLA-compiled `generate_xla` (see the module
    doc). Encoder-decoders get `encoder_decoder_signatures`.
    """
    if getattr(model, "decoder_start_token_id", None) is not None:
        return encoder_decoder_signatures(model, max_new_tokens,
                                          xla_generate)
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
        return checked_sampling_options(temperature, top_k, top_p, seed,
                                        vocabulary_size)

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


def encoder_decoder_signatures(model, max_new_tokens=DEFAULT_MAX_NEW_TOKENS,
                               xla_generate=False):
    """`{name: concrete function}` for an encoder-decoder `GenerativeTask`
    (`T5Seq2SeqLM`) with a tokenizer.

    - `serving_default`: `text` string `[batch]`, the sources; greedy
      decoding of up to the export's `max_new_tokens`.
    - `generate`: `text` plus, per row, `max_new_tokens`, `num_beams`
      int32 (1 to `MAX_NUM_BEAMS`; more than 1 is beam search, which needs
      `top_k=1`: beams do not sample), `temperature`, `top_k`, `top_p` and
      `seed` as in GPT's `generate`. Rows of one batch may differ in all
      of them: rows with `num_beams` 1 are decoded together (greedy or
      sampled), rows with more beams are searched together, each with its
      own beam count.
    - `predict_token_ids`: `encoder_token_ids`, `encoder_padding_mask`,
      `decoder_token_ids`, `decoder_padding_mask` int32 `[batch, length]`
      in, `logits` float32 `[batch, decoder length, vocabulary]` out (the
      model's forward pass, for scoring targets by id).

    The text signatures tokenize each source and end it with `</s>` (as
    `generate` and the preprocessor do; "" is just `</s>`), encode it
    once, and decode from the decoder start token until `</s>` (not
    output) or `max_new_tokens`. They return `generated_text` string
    `[batch]` (the target alone), `generated_token_ids` int32 `[batch,
    longest]` padded with -1 and `num_generated_tokens` int32 `[batch]`;
    `generate` also returns `scores` float32 `[batch]`: for beam rows the
    chosen hypothesis's summed token log-probability over its length
    (`length_penalty` 1, as `transformers` scores beams), 0 for other
    rows. A
    source of more than the model's `max_sequence_length` tokens (with
    its `</s>`), `max_new_tokens` outside [1, `max_sequence_length`) or an
    out-of-range option fails the request with INVALID_ARGUMENT naming
    the input. Core TensorFlow ops and tf-text only; beam search keeps its
    tokens per beam and reorders them with gathers (no `GatherTree`).

    `xla_generate` adds `generate_xla`, `generate` with each decode (and
    beam search) compiled by XLA as for GPT (see the module doc): sources
    and new tokens padded to length buckets, one program per batch size,
    bucket pair and beam count; no warmup records.
    """
    tokenizer = model.tokenizer
    name = type(model).__name__
    if tokenizer is None:
        raise ValueError(
            f"Exporting a {name} needs its tokenizer: build it with "
            f"{name}(backbone, tokenizer=SentencePieceTokenizer(...)) or "
            f"with a preprocessor."
        )
    end_id = tokenizer.end_of_text_id
    if end_id is None:
        raise ValueError(
            f"The tokenizer has no end-of-sequence token ('</s>'), which "
            f"ends every source and stops generation; exporting a {name} "
            f"needs one in the vocabulary."
        )
    backbone = model.backbone
    context = backbone.max_sequence_length
    vocabulary_size = backbone.vocabulary_size
    stops = tf.constant([end_id], tf.int32)
    buckets = sequence_buckets(context)

    def sources(text, new_tokens):
        """Right-padded source ids (each ending in </s>) and lengths,
        after the length checks."""
        ids = tokenizer.tokenize(text)
        ends = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.shape(text)[0]], end_id),
            tf.ones([tf.shape(text)[0]], tf.int64))
        ids = tf.concat([tf.cast(ids, tf.int32), ends], axis=1)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        checks = [
            tf.debugging.assert_less_equal(
                lengths, context,
                message=f"text has more than {context} tokens (with its "
                        f"</s>), the model's max_sequence_length; shorten "
                        f"it"),
            tf.debugging.assert_greater_equal(
                new_tokens, 1, message="max_new_tokens must be >= 1"),
            tf.debugging.assert_less(
                new_tokens, context,
                message=f"max_new_tokens must be < {context}, the model's "
                        f"max_sequence_length"),
        ]
        with tf.control_dependencies(checks):
            return ids.to_tensor(0), lengths

    def searched_or_decoded(source_ids, source_lengths, new_tokens,
                            capacity, beams, options, search, width=None):
        """Targets of the rows given: `(token_ids [rows, 1 + capacity],
        lengths, scores)`, start token first. Beam rows are searched
        `width` (default their most) beams wide."""
        decoder, start_ids, start_lengths = model.start_decoding(
            source_ids, source_lengths)
        logits_of = model.output_projection()
        if search:
            return beam_search(
                decoder, logits_of, start_ids, start_lengths, new_tokens,
                capacity, tf.reduce_max(beams) if width is None else width,
                stops,
                beams_per_row=beams, with_scores=True,
            )
        token_ids, lengths = decode(
            decoder, logits_of, start_ids, start_lengths, new_tokens,
            capacity, options, stops,
        )
        return token_ids, lengths, tf.zeros(tf.shape(lengths), tf.float32)

    def outputs(token_ids, lengths, scores):
        # The target after the decoder's start token.
        generated = tf.RaggedTensor.from_tensor(token_ids[:, 1:],
                                                lengths=lengths - 1)
        return {
            "generated_text": tokenizer.detokenize(generated),
            "generated_token_ids": generated.to_tensor(-1),
            "num_generated_tokens": lengths - 1,
            "scores": scores,
        }

    @tf.function(jit_compile=True, autograph=False)
    def decode_compiled(source_ids, source_lengths, new_tokens, capacity,
                        greedy, temperature, top_k, top_p, seed):
        # `capacity` sizes tensors: XLA compiles one program per value.
        return searched_or_decoded(
            source_ids, source_lengths, new_tokens, capacity, None,
            SamplingOptions(greedy, temperature, top_k, top_p, seed),
            search=False)

    @tf.function(jit_compile=True, autograph=False)
    def search_compiled(source_ids, source_lengths, new_tokens, capacity,
                        beams, width):
        # As `capacity`, `width` (the beams) is a compile-time constant.
        return searched_or_decoded(source_ids, source_lengths, new_tokens,
                                   capacity, beams, None, True, width)

    def run(text, new_tokens, beams, options, compiled=False):
        source_ids, source_lengths = sources(text, new_tokens)
        capacity = tf.reduce_max(tf.concat([new_tokens, [0]], 0))
        if compiled:
            # As `generate` pads: sources and new tokens to length
            # buckets, so a server compiles few programs.
            width = smallest_bucket(tf.reduce_max(source_lengths), buckets)
            source_ids = tf.pad(source_ids, [
                [0, 0], [0, width - tf.shape(source_ids)[1]]])
            capacity = smallest_bucket(capacity, buckets)
        if beams is None:  # every row greedy or sampled
            return outputs(*searched_or_decoded(
                source_ids, source_lengths, new_tokens, capacity, None,
                options, search=False))
        searched = tf.cast(beams > 1, tf.int32)
        rows = tf.dynamic_partition(tf.range(tf.shape(text)[0]), searched, 2)
        parts = []
        for search, indices in zip((False, True), rows):
            def part(indices=indices, search=search):
                def take(tensor):
                    return tf.gather(tensor, indices)
                if compiled and search:
                    return search_compiled(
                        take(source_ids), take(source_lengths),
                        take(new_tokens), capacity, take(beams),
                        tf.reduce_max(take(beams)))
                if compiled:
                    return decode_compiled(
                        take(source_ids), take(source_lengths),
                        take(new_tokens), capacity,
                        *(take(getattr(options, field)) for field in
                          ("greedy", "temperature", "top_k", "top_p",
                           "seed")))
                return searched_or_decoded(
                    take(source_ids), take(source_lengths),
                    take(new_tokens), capacity, take(beams),
                    dataclasses.replace(options, **{
                        field: take(getattr(options, field)) for field in
                        ("greedy", "temperature", "top_k", "top_p", "seed")
                    }), search,
                )

            def nothing():
                return (tf.zeros([0, 1 + capacity], tf.int32),
                        tf.zeros([0], tf.int32), tf.zeros([0], tf.float32))

            parts.append(tf.cond(tf.size(indices) > 0, part, nothing))
        return outputs(*(
            tf.dynamic_stitch(rows, [part[i] for part in parts])
            for i in range(3)
        ))

    @tf.function(autograph=False)
    def serve_default(text):
        batch = tf.shape(text)[0]
        greedy = run(text, tf.fill([batch], max_new_tokens), None,
                     SamplingOptions.build_in_graph(batch))
        del greedy["scores"]
        return greedy

    def checked_options(num_beams, temperature, top_k, top_p, seed):
        """`(num_beams, SamplingOptions)` after the range checks."""
        options = checked_sampling_options(temperature, top_k, top_p, seed,
                                           vocabulary_size)
        checks = [
            tf.debugging.assert_greater_equal(
                num_beams, 1, message="num_beams must be >= 1"),
            tf.debugging.assert_less_equal(
                num_beams, MAX_NUM_BEAMS,
                message=f"num_beams must be <= {MAX_NUM_BEAMS}"),
            tf.debugging.assert_equal(
                tf.logical_or(num_beams <= 1, top_k == 1), True,
                message="num_beams > 1 (beam search) needs top_k=1: beams "
                        "do not sample; send num_beams=1 to sample"),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(num_beams), options

    @tf.function(autograph=False)
    def generate(text, max_new_tokens, num_beams, temperature, top_k, top_p,
                 seed):
        return run(text, max_new_tokens, *checked_options(
            num_beams, temperature, top_k, top_p, seed))

    @tf.function(autograph=False)
    def generate_xla(text, max_new_tokens, num_beams, temperature, top_k,
                     top_p, seed):
        # Checked here, outside XLA, which drops Assert ops.
        return run(text, max_new_tokens, *checked_options(
            num_beams, temperature, top_k, top_p, seed), compiled=True)

    @tf.function(autograph=False)
    def predict_token_ids(encoder_token_ids, encoder_padding_mask,
                          decoder_token_ids, decoder_padding_mask):
        logits = model({
            "encoder_token_ids": encoder_token_ids,
            "encoder_padding_mask": encoder_padding_mask,
            "decoder_token_ids": decoder_token_ids,
            "decoder_padding_mask": decoder_padding_mask,
        }, training=False)
        return {"logits": tf.cast(logits, tf.float32)}

    strings = tf.TensorSpec([None], tf.string)
    ints = tf.TensorSpec([None], tf.int32)
    floats = tf.TensorSpec([None], tf.float32)
    ids = tf.TensorSpec([None, None], tf.int32)
    inputs = (strings, ints, ints, floats, ints, floats, ints)
    # Traced here, where cache writes use core TF ops (no XLA op).
    with plain_tensorflow_cache_updates():
        signatures = {
            "serving_default": serve_default.get_concrete_function(
                tf.TensorSpec([None], tf.string, name="text")),
            "generate": generate.get_concrete_function(*inputs),
            "predict_token_ids": predict_token_ids.get_concrete_function(
                ids, ids, ids, ids),
        }
    if xla_generate:
        # Traced outside that context: XLA's in-place cache writes.
        signatures["generate_xla"] = generate_xla.get_concrete_function(
            *inputs)
    return signatures


def generate_warmup_logs(max_new_tokens=DEFAULT_MAX_NEW_TOKENS,
                         encoder_decoder=False):
    """A few short requests of each signature, including an empty prompt
    (an empty source for an encoder-decoder)."""
    if encoder_decoder:
        return encoder_decoder_warmup_logs(max_new_tokens)
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


def encoder_decoder_warmup_logs(max_new_tokens=DEFAULT_MAX_NEW_TOKENS):
    """Requests of each of `encoder_decoder_signatures`: greedy, sampled
    and beam rows, and an empty source."""
    # Short: a small model's context must hold each source.
    texts = ["", "Hello there.", "Hi"]
    count = len(texts)
    new_tokens = min(4, max_new_tokens)
    ids = [[5, 6, 1], [7, 1, 0]]
    masks = [[1, 1, 1], [1, 1, 0]]
    return [
        warmup.predict_log("serving_default", {"text": texts}),
        warmup.predict_log("generate", {
            "text": texts,
            "max_new_tokens": [new_tokens] * count,
            "num_beams": [1, 1, 2],
            "temperature": [1.0] * count,
            "top_k": [1, 40, 1],
            "top_p": [1.0, 0.9, 1.0],
            "seed": list(range(count)),
        }),
        warmup.predict_log("predict_token_ids", {
            "encoder_token_ids": ids, "encoder_padding_mask": masks,
            "decoder_token_ids": [[0, 5], [0, 6]],
            "decoder_padding_mask": [[1, 1], [1, 1]],
        }),
    ]
