"""Token sampling and the XLA-friendly cached decode loop."""

from tfzoo.generation.beam_search import beam_search
from tfzoo.generation.decode_loop import decode
from tfzoo.generation.output_projection import OutputProjection
from tfzoo.generation.sampling import (
    SamplingOptions,
    check_sampling_arguments,
    choose_next_tokens,
)
