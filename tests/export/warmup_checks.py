"""Checks of an export's warmup file, shared by the task tests.

`warmup_calls(path)` lists a SavedModel's warmup records as `serve` calls;
`check_warmup(model, path, outputs)` checks them and their replayed
outputs: at most 1000 records, every signature, every length bucket.
"""

import numpy as np
import tensorflow as tf

from tests.export.servables import signature_defs
from tfzoo.export import read_warmup_file, replay_inputs
from tfzoo.preprocessing.length_buckets import sequence_buckets
from tfzoo.models import BertClassifier, BertQuestionAnswerer

TF_SERVING_MAX_RECORDS = 1000


def warmup_calls(path):
    """`(path, signature_name, inputs)` per warmup record, in order."""
    return [(path, *replay_inputs(log)) for log in read_warmup_file(path)]


def check_warmup(model, path, replayed):
    """Checks the warmup records of `path` and their `replayed` outputs."""
    logs = read_warmup_file(path)
    assert 0 < len(logs) <= TF_SERVING_MAX_RECORDS
    signatures = signature_defs(path)
    calls = warmup_calls(path)
    assert {name for _, name, _ in calls} == set(signatures)
    assert ("classify" in signatures) == isinstance(model, BertClassifier)
    for log, (_, name, _) in zip(logs, calls):
        kind = "classify_log" if name == "classify" else "predict_log"
        assert log.WhichOneof("log_type") == kind

    text_names = sorted(signatures["serving_default"].inputs)
    buckets = {}
    for _, name, inputs in calls:
        buckets.setdefault(name, set()).add(
            length_bucket(model, text_names, name, inputs)
        )
    for name, found in buckets.items():
        padded = [bucket for bucket in found if isinstance(bucket, int)]
        assert len(padded) >= 2, (name, found)  # short and medium
        assert "full" in found, (name, found)
        # Token ids of a cut text look like those of a full one, except
        # for question answering's several windows.
        if name != "predict_token_ids" or isinstance(
            model, BertQuestionAnswerer
        ):
            assert "over" in found, (name, found)
        # Every length bucket the signatures cut batches to is warmed.
        length = model.preprocessor.sequence_length
        served = {next(b for b in sequence_buckets(length) if b >= tokens)
                  for tokens in padded} | {length}
        assert served == set(sequence_buckets(length)), (name, found)

    assert len(replayed) == len(calls)
    for (_, name, inputs), outputs in zip(calls, replayed):
        assert sorted(outputs) == sorted(signatures[name].outputs)
        batch_size = len(next(iter(inputs.values())))
        for value in outputs.values():
            assert len(value) == batch_size, (name, outputs)


def raw_texts(text_names, name, inputs):
    """The texts of a raw-text request, by input name."""
    if name == "classify":
        features = {key: tf.io.FixedLenFeature([], tf.string)
                    for key in text_names}
        inputs = tf.io.parse_example(inputs["inputs"], features)
    return {key: [value.decode() for value in np.asarray(inputs[key])]
            for key in text_names}


def length_bucket(model, text_names, name, inputs):
    """"over" when the input is cut or takes several windows, "full" when
    it exactly fills the sequence, else its number of real tokens."""
    preprocessor = model.preprocessor
    length = preprocessor.sequence_length
    if name == "predict_token_ids":
        padding_mask = inputs["padding_mask"]
        cut = len(padding_mask) > 1  # several windows of one question
    elif isinstance(model, BertQuestionAnswerer):
        windows = preprocessor.windows(raw_texts(text_names, name, inputs))
        padding_mask = windows["padding_mask"]
        cut = len(padding_mask) > 1
    else:
        texts = raw_texts(text_names, name, inputs)
        if isinstance(model, BertClassifier):
            features = preprocessor(tuple(texts.values()) if len(texts) == 2
                                    else texts["text"])
        else:
            features = preprocessor(preprocessor.split_text(texts["text"])[0])
        padding_mask = features["padding_mask"]
        tokens = sum(
            int(np.sum(preprocessor.tokenizer.tokenize(text).row_lengths()))
            for text in texts.values()
        )
        cut = tokens > length - 1 - len(texts)  # [CLS] and [SEP]s
    if cut:
        return "over"
    real = int(np.sum(padding_mask))
    return "full" if real == length else real
