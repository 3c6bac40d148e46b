"""The base of tasks that generate text: `generate` and what it needs.

A `GenerativeTask` owns decoding for any backbone with the decoding
interface (`empty_cache(batch_size, max_length)` and
`call_with_cache(token_ids, cache, cache_index)`, see `GPTBackbone`):
prompts in any form, length buckets, stop tokens, greedy and sampled
decoding, beam search, the compiled programs, and the output projection.
The export's generate signatures use the same pieces. A subclass builds
the functional model and says how hidden states become logits
(`output_projection`); `GPTCausalLM` is one.

Encoder-decoders (`T5Seq2SeqLM`) set `decoder_start_token_id`: their
backbone also has `encode(token_ids, padding_mask)` and
`project_encoder_output(encoder_output, padding_mask)`, and its
`call_with_cache` takes that context as a fourth argument. `generate` then
encodes the inputs once, projects the encoder output into each decoder
layer's cross-attention keys and values once, and decodes from the start
token with the same loops (`ContextDecoder` passes the context to each
step; beam search repeats it per beam once).
"""

import math

import keras
import tensorflow as tf

from tfzoo.generation.beam_search import beam_search
from tfzoo.generation.context_decoder import ContextDecoder
from tfzoo.generation.decode_loop import decode
from tfzoo.generation.output_projection import OutputProjection
from tfzoo.generation.prompts import PromptBatch
from tfzoo.generation.sampling import SamplingOptions
from tfzoo.metrics.perplexity import Perplexity
from tfzoo.models.task import Task
from tfzoo.preprocessing.length_buckets import bucket_for

SAMPLERS = ("greedy", "sample", "beam")


class GenerativeTask(Task):
    """A `Task` whose `generate` decodes with a cached XLA loop.

    Subclasses set `self.tokenizer` (or None, for token ids only) and may
    override `output_projection` (default: the tied token embedding,
    `hidden @ embeddings.T`). Encoder-decoders set
    `decoder_start_token_id` (see the module doc) and `end_token_id`, the
    stop token when there is no tokenizer to ask.
    """

    # Set by encoder-decoders: the first decoder input of every target.
    decoder_start_token_id = None
    # The end-of-sequence id used without a tokenizer (None: never stop).
    end_token_id = None

    serving_kind = "generator"

    def __init__(self, *args, tokenizer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokenizer = tokenizer
        # Not a dict attribute: Keras would track (and try to save) it.
        self._generate_functions = _CompiledFunctions()
        self.generate_trace_count = 0

    def default_loss(self):
        return keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        )

    def default_metrics(self):
        return None

    def default_weighted_metrics(self):
        """Perplexity and accuracy over real (target) tokens: padding
        weighs 0."""
        return [
            Perplexity(),
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
        ]

    def output_projection(self):
        """Hidden states `[batch, hidden]` to logits `[batch, vocabulary]`,
        prepared once before a decode loop; called inside traced code."""
        return OutputProjection(self.backbone.token_embedding.embeddings)

    def generate(
        self,
        inputs,
        max_new_tokens=32,
        sampler="greedy",
        temperature=1.0,
        top_k=None,
        top_p=None,
        num_beams=4,
        stop_token_ids="auto",
        seed=None,
        jit_compile=True,
        length_penalty=1.0,
    ):
        """Continues each prompt by up to `max_new_tokens` tokens.

        Args:
            inputs: a string, a list of strings (needs a tokenizer), or
                token ids: one list of ints, a list of them, or a dict with
                `token_ids` and `padding_mask` arrays (right-padded). For
                an encoder-decoder these are the sources: text gets the
                tokenizer's end-of-text id appended (as the preprocessor
                packs it), ids are used as given.
            max_new_tokens: the most tokens added to each prompt. The
                prompt plus these must fit the model's context
                (`backbone.max_sequence_length`), else a `ValueError`.
            sampler: "greedy", "sample" (temperature, top-k, top-p) or
                "beam" (`num_beams` beams).
            temperature, top_k, top_p: for "sample": `temperature` > 0,
                `top_k` >= 1 (None: no limit), `top_p` in (0, 1].
            stop_token_ids: a row stops after one of these (not part of
                the output). "auto": the tokenizer's end-of-text id, if
                any; None: never stop early.
            seed: int in [0, 2**31), for repeatable sampling: every row
                uses it, so a prompt samples the same alone or in a batch.
                None: a fresh seed per row and call.
            jit_compile: compile the decode loop with XLA.
            length_penalty: for "beam": ended beams are scored by their
                summed log-probabilities over `length ** length_penalty`
                (as `transformers`; > 0 favours longer, < 0 shorter
                outputs, 0 none). See `tfzoo.generation.beam_search`.

        An empty prompt starts from the tokenizer's end-of-text token,
        GPT-2's document separator. Prompts are right-padded to a length
        bucket (16, 32, 64, ...) and new tokens to a bucket of
        `max_new_tokens`, so prompts of other lengths in the same buckets
        reuse the compiled program, and each prompt of a batch gets what it
        gets alone.

        Returns the prompt plus its continuation, in the form given: a
        string, a list of strings, a list of ids, a list of id lists, or a
        dict with `token_ids` and `padding_mask`. An encoder-decoder
        returns only the generated target (without the start token), in
        the same forms.
        """
        if sampler not in SAMPLERS:
            raise ValueError(
                f"sampler must be one of {SAMPLERS}, got {sampler!r}."
            )
        if int(max_new_tokens) != max_new_tokens or max_new_tokens < 1:
            raise ValueError(
                f"max_new_tokens must be an integer >= 1, got "
                f"{max_new_tokens}."
            )
        if sampler == "beam" and (int(num_beams) != num_beams
                                  or num_beams < 1):
            raise ValueError(f"num_beams must be >= 1, got {num_beams}.")
        if not math.isfinite(length_penalty):
            raise ValueError(
                f"length_penalty must be a finite number, got "
                f"{length_penalty}."
            )
        encoder_decoder = self.decoder_start_token_id is not None
        prompts = PromptBatch.from_inputs(
            inputs, self.tokenizer, self.backbone.vocabulary_size,
            text_end_id=(getattr(self.tokenizer, "end_of_text_id", None)
                         if encoder_decoder else None),
        )
        context = self.backbone.max_sequence_length
        if encoder_decoder:
            if prompts.longest > context or max_new_tokens >= context:
                raise ValueError(
                    f"Sources of up to {context} tokens and up to "
                    f"max_new_tokens={context - 1} fit the model's "
                    f"max_sequence_length ({context}); got a source of "
                    f"{prompts.longest} tokens and max_new_tokens="
                    f"{max_new_tokens}. Shorten the source or lower "
                    f"max_new_tokens."
                )
            prompt_width = bucket_for(prompts.longest, context)
            capacity = bucket_for(max_new_tokens, context)
        else:
            if prompts.longest + max_new_tokens > context:
                raise ValueError(
                    f"A prompt of {prompts.longest} tokens plus "
                    f"max_new_tokens={max_new_tokens} exceeds the model's "
                    f"context of {context} tokens. Shorten the prompt or "
                    f"lower max_new_tokens."
                )
            prompt_width = bucket_for(prompts.longest, context)
            capacity = min(bucket_for(max_new_tokens, context),
                           context - prompt_width)
        batch = prompts.size
        options = SamplingOptions.build(
            batch,
            sampler="greedy" if sampler == "beam" else sampler,
            temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
        )
        stops = self._stop_token_ids(stop_token_ids)
        function = self._generate_function(
            sampler, options, num_beams, capacity, jit_compile,
            float(length_penalty),
        )
        token_ids, lengths = function(
            tf.constant(prompts.padded(prompt_width)),
            tf.constant(prompts.lengths),
            tf.fill([batch], tf.constant(int(max_new_tokens), "int32")),
            options.greedy, options.temperature, options.top_k,
            options.top_p, options.seed, tf.constant(stops, "int32"),
        )
        if encoder_decoder:
            return prompts.target_outputs(token_ids.numpy(), lengths.numpy(),
                                          self.tokenizer)
        return prompts.outputs(token_ids.numpy(), lengths.numpy(),
                               self.tokenizer)

    def _stop_token_ids(self, stop_token_ids):
        if isinstance(stop_token_ids, str) and stop_token_ids == "auto":
            end = (self.end_token_id if self.tokenizer is None
                   else getattr(self.tokenizer, "end_of_text_id", None))
            return [] if end is None else [end]
        return [] if stop_token_ids is None else [int(t) for t in
                                                  stop_token_ids]

    def _generate_function(self, sampler, options, num_beams, capacity,
                           jit_compile, length_penalty=1.0):
        """One compiled decode program per sampler setup and capacity."""
        beam_setup = ((num_beams, length_penalty) if sampler == "beam"
                      else None)
        key = (sampler, options.filters, beam_setup, capacity,
               bool(jit_compile))
        if key in self._generate_functions.by_key:
            return self._generate_functions.by_key[key]
        filters, samples = options.filters, options.samples

        def generate_ids(prompt_ids, prompt_lengths, max_new_tokens,
                         greedy, temperature, top_k, top_p, seed, stops):
            self.generate_trace_count += 1
            logits_of = self.output_projection()
            decoder = self.backbone
            if self.decoder_start_token_id is not None:
                decoder, prompt_ids, prompt_lengths = self.start_decoding(
                    prompt_ids, prompt_lengths)
            if sampler == "beam":
                return beam_search(
                    decoder, logits_of, prompt_ids, prompt_lengths,
                    max_new_tokens, capacity, num_beams, stops,
                    length_penalty=length_penalty,
                )
            step_options = SamplingOptions(
                greedy, temperature, top_k, top_p, seed, filters=filters,
                samples=samples,
            )
            return decode(
                decoder, logits_of, prompt_ids, prompt_lengths,
                max_new_tokens, capacity, step_options, stops,
            )

        vector = tf.TensorSpec([None], "int32")
        function = tf.function(
            generate_ids,
            jit_compile=jit_compile,
            input_signature=[
                tf.TensorSpec([None, None], "int32"), vector, vector,
                tf.TensorSpec([None], "bool"),
                tf.TensorSpec([None], "float32"), vector,
                tf.TensorSpec([None], "float32"), vector, vector,
            ],
        )
        self._generate_functions.by_key[key] = function
        return function

    def start_decoding(self, source_ids, source_lengths):
        """An encoder-decoder's first step, inside the traced program:
        encodes the right-padded sources once and projects the encoder
        output into the decoder's cross-attention context once.

        Returns `(decoder, start_ids, start_lengths)`: a `ContextDecoder`
        for the decode loops, and a prompt of one start token a row.
        """
        padding_mask = tf.sequence_mask(
            source_lengths, tf.shape(source_ids)[1], "int32")
        encoder_output = self.backbone.encode(source_ids, padding_mask)
        decoder = ContextDecoder(
            self.backbone,
            self.backbone.project_encoder_output(encoder_output,
                                                 padding_mask),
        )
        batch = tf.shape(source_ids)[0]
        start_ids = tf.fill([batch, 1], tf.constant(
            self.decoder_start_token_id, "int32"))
        return decoder, start_ids, tf.ones([batch], "int32")

    def get_config(self):
        config = super().get_config()
        if self.tokenizer is not None:
            config["tokenizer"] = keras.layers.serialize(self.tokenizer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("tokenizer") is not None:
            config["tokenizer"] = keras.layers.deserialize(config["tokenizer"])
        return super().from_config(config)


class _CompiledFunctions:
    """Compiled decode programs by sampler setup, outside Keras tracking."""

    def __init__(self):
        self.by_key = {}
