"""TF Serving warmup requests: build them, write them, read them back.

TF Serving replays `assets.extra/tf_serving_warmup_requests` (a TFRecord
file of `PredictionLog`s, at most 1000) when it loads a version, so that
the first real requests do not pay for lazy initialisation. Exports write
one request per signature and per length bucket (`length_buckets`), with
texts made of vocabulary words (`filler_text`).

Example:

>>> import tempfile
>>> directory = tempfile.mkdtemp()
>>> write_warmup_file(directory, [
...     predict_log("serving_default", {"text": ["hello"]}),
...     classify_log("classify", [{"text": "hello"}]),
... ])
>>> [replay_inputs(log)[0] for log in read_warmup_file(directory)]
['serving_default', 'classify']
"""

import os

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import classification_pb2
from tensorflow_serving.apis import input_pb2
from tensorflow_serving.apis import model_pb2
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_log_pb2

from tfzoo.preprocessing.length_buckets import sequence_buckets

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_RECORDS = 1000  # TF Serving reads no more
# Input name of the serialized tf.Examples in Classify signatures.
EXAMPLES_INPUT = "inputs"


def length_buckets(capacity, sequence_length):
    """Token counts to warm, for inputs that fit `capacity` tokens of a
    sequence of `sequence_length`.

    `short` (a few tokens), `medium` (half), one count that exactly fills
    each serving length bucket below the longest (`fills 16`, ...; see
    `tfzoo.preprocessing.length_buckets`), `full` (exactly `capacity`, no
    padding) and `over` (more than twice `capacity`: truncated, or several
    question-answering windows).

    >>> length_buckets(30, 32)
    {'short': 4, 'medium': 15, 'fills 16': 14, 'full': 30, 'over': 61}
    """
    if capacity < 1:
        raise ValueError(f"capacity must be >= 1, got {capacity}.")
    overhead = sequence_length - capacity
    counts = {
        "short": max(1, min(4, capacity // 4)),
        "medium": max(1, capacity // 2),
    }
    for bucket in sequence_buckets(sequence_length)[:-1]:
        if bucket - overhead >= 1:
            counts[f"fills {bucket}"] = bucket - overhead
    counts["full"] = capacity
    counts["over"] = 2 * capacity + 1
    return counts


def filler_text(tokenizer, num_tokens):
    """A text of vocabulary words that `tokenizer` makes `num_tokens` ids.

    >>> from tfzoo.tokenizers import WordPieceTokenizer
    >>> tokenizer = WordPieceTokenizer(
    ...     ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi", "##s", "yo"])
    >>> filler_text(tokenizer, 3)
    'hi yo hi'
    """
    candidates = [
        token for token in tokenizer.get_vocabulary()[:1000]
        if token not in tokenizer.special_tokens and not token.startswith("##")
    ]
    ids = tokenizer.tokenize(tf.constant(candidates or [""], tf.string))
    words = [
        word for word, length in zip(candidates, ids.row_lengths().numpy())
        if length == 1
    ]
    if not words:
        raise ValueError(
            "The vocabulary has no word that tokenizes to a single token, "
            "so no warmup text can be made from it."
        )
    return " ".join(words[i % len(words)] for i in range(num_tokens))


def predict_log(signature_name, inputs):
    """A Predict request: `inputs` maps input names to arrays or lists."""
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(signature_name=signature_name)
    )
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)
    )


def classify_log(signature_name, examples):
    """A Classify request of `tf.Example`s made from dicts of strings."""
    request = classification_pb2.ClassificationRequest(
        model_spec=model_pb2.ModelSpec(signature_name=signature_name),
        input=input_pb2.Input(
            example_list=input_pb2.ExampleList(
                examples=[_string_example(example) for example in examples]
            )
        ),
    )
    return prediction_log_pb2.PredictionLog(
        classify_log=prediction_log_pb2.ClassifyLog(request=request)
    )


def _string_example(features):
    return tf.train.Example(features=tf.train.Features(feature={
        name: tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[value.encode("utf-8")])
        )
        for name, value in features.items()
    }))


def write_warmup_file(export_dir, logs):
    """Writes `logs` (1 to 1000) to `export_dir`'s warmup file."""
    if not 0 < len(logs) <= MAX_RECORDS:
        raise ValueError(
            f"TF Serving replays 1 to {MAX_RECORDS} warmup records; got "
            f"{len(logs)}."
        )
    path = os.path.join(export_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log.SerializeToString())


def read_warmup_file(export_dir):
    """The `PredictionLog`s in a SavedModel's warmup file, in order."""
    path = os.path.join(export_dir, WARMUP_FILE)
    logs = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    return logs


def replay_inputs(log):
    """`(signature_name, inputs)` to call a loaded signature with.

    `inputs` maps input names to numpy arrays; a Classify request becomes
    its serialized `tf.Example`s under `inputs`, as the Classify API
    feeds them to the signature.
    """
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        request = log.predict_log.request
        inputs = {
            name: tf.make_ndarray(proto)
            for name, proto in request.inputs.items()
        }
        return request.model_spec.signature_name, inputs
    if kind == "classify_log":
        request = log.classify_log.request
        examples = request.input.example_list.examples
        serialized = np.array(
            [example.SerializeToString() for example in examples], object
        )
        return request.model_spec.signature_name, {EXAMPLES_INPUT: serialized}
    raise ValueError(f"Cannot replay a {kind} warmup record.")
