"""The `tf.Example`s of a Classify or Regress request, serialized."""

import numpy as np

from serving.errors import invalid_argument


def serialized_examples(input_proto):
    """Serialized `tf.Example`s of a TF Serving `Input` proto."""
    kind = input_proto.WhichOneof("kind")
    if kind == "example_list":
        examples = list(input_proto.example_list.examples)
    elif kind == "example_list_with_context":
        context = input_proto.example_list_with_context.context
        examples = []
        for example in input_proto.example_list_with_context.examples:
            merged = type(example)()
            merged.CopyFrom(context)
            merged.MergeFrom(example)
            examples.append(merged)
    else:
        raise invalid_argument("Input is empty.")
    if not examples:
        raise invalid_argument("Input is empty.")
    array = np.empty(len(examples), dtype=object)
    array[:] = [example.SerializeToString() for example in examples]
    return array
