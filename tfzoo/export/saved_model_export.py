"""Exports task models as SavedModels that TensorFlow Serving loads."""

import os
import shutil
import time
import uuid

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tfzoo.export import warmup
from tfzoo.export.classifier_signatures import (
    CLASSIFY_METHOD,
    classifier_signatures,
    classifier_warmup_logs,
)
from tfzoo.export.generate_signatures import (
    DEFAULT_MAX_NEW_TOKENS,
    generate_signatures,
    generate_warmup_logs,
)
from tfzoo.export.op_check import check_servable
from tfzoo.export.question_answerer_signatures import (
    DEFAULT_MAX_ANSWER_LENGTH,
    question_answerer_signatures,
    question_answerer_warmup_logs,
)
from tfzoo.export.token_classifier_signatures import (
    token_classifier_signatures,
    token_classifier_warmup_logs,
)
from tfzoo.models.bert.bert_classifier import BertClassifier
from tfzoo.models.bert.bert_question_answerer import BertQuestionAnswerer
from tfzoo.models.bert.bert_token_classifier import BertTokenClassifier
from tfzoo.models.generative_task import GenerativeTask

WARMUP_FILE = warmup.WARMUP_FILE
SUPPORTED_MODELS = (
    BertClassifier, BertTokenClassifier, BertQuestionAnswerer, GenerativeTask,
)


def next_version(base_path):
    """1 + the highest numeric version directory in `base_path` (or 1)."""
    if not os.path.isdir(base_path):
        return 1
    versions = [int(name) for name in os.listdir(base_path) if name.isdigit()]
    return max(versions, default=0) + 1


def export_saved_model(model, base_path, version=None, text_pair=False,
                       max_answer_length=None, max_new_tokens=None,
                       xla_generate=False, verbose=False):
    """Writes `base_path/<version>/`, a SavedModel TF Serving can load.

    BERT tasks built with a preprocessor get `serving_default` (raw text
    in, tokenized in the graph by the model's own preprocessor) and
    `predict_token_ids` (`token_ids`, `segment_ids`, `padding_mask` int32
    `[batch, sequence_length]` in, raw head outputs out); classifiers also
    get `classify` (TF Serving's Classify API). Generative tasks
    (`GPTCausalLM`) built with a tokenizer get `serving_default` (prompt
    text in, generated text out) and `generate` (per-request sampling
    options). Inputs and outputs per task are in the docs of
    `tfzoo.export.classifier_signatures`, `token_classifier_signatures`,
    `question_answerer_signatures` and `generate_signatures`.

    Args:
        model: a `BertClassifier`, `BertTokenClassifier` or
            `BertQuestionAnswerer` built with a preprocessor, or a
            `GPTCausalLM` built with a tokenizer.
        base_path: the model's directory; versions are subdirectories.
        version: default one above the highest present.
        text_pair: classifiers only: serve `text` and `text_pair`.
        max_answer_length: question answerers only: the longest answer in
            tokens (default 30).
        max_new_tokens: `GPTCausalLM` only: the tokens `serving_default`
            generates (default 32); see `tfzoo.export.generate_signatures`
            for its `serving_default` and `generate` signatures.
        xla_generate: `GPTCausalLM` only: also export `generate_xla`,
            `generate` with its decode compiled by XLA, for servers
            started with `--xla_cpu_compilation_enabled=true` (others
            answer it INTERNAL "XLA compilation disabled"). It gets no
            warmup records, since TF Serving fails a version's load when
            a warmup request fails.
        verbose: print what is exported, roughly how long that takes, and
            then how long it took.

    The version is written to a temporary directory, given warmup
    requests (`assets.extra/tf_serving_warmup_requests`: each signature
    at each length bucket, see `tfzoo.export.warmup`), checked for ops TF
    Serving lacks, then renamed into place, so a server never sees half a
    version. Returns the version path.
    """
    start = time.perf_counter()
    if verbose:
        print(f"exporting the {type(model).__name__} for TF Serving to "
              f"{base_path} (tracing its signatures, saving, checking; "
              f"usually 10-30 s on 2 CPU cores)...", flush=True)
    signatures, method_names, warmup_logs = _task_exports(
        model, text_pair, max_answer_length, max_new_tokens, xla_generate
    )
    version = next_version(base_path) if version is None else int(version)
    final_path = os.path.join(base_path, str(version))
    if os.path.exists(final_path):
        raise FileExistsError(
            f"Version {version} already exists at {final_path}; pass another "
            f"version or leave it out to take the next one."
        )
    os.makedirs(base_path, exist_ok=True)
    temporary = os.path.join(
        base_path, f".tmp-{version}-{uuid.uuid4().hex[:8]}"
    )
    try:
        module = tf.Module()
        module.model = model
        module.preprocessor = model.preprocessor
        module.tokenizer = getattr(model, "tokenizer", None)
        tf.saved_model.save(module, temporary, signatures=signatures)
        for name, method_name in method_names.items():
            _set_method_name(temporary, name, method_name)
        warmup.write_warmup_file(temporary, warmup_logs)
        check_servable(temporary)
        os.rename(temporary, final_path)
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary)
    if verbose:
        print(f"exported version {version} in "
              f"{time.perf_counter() - start:.1f} s (signatures "
              f"{', '.join(sorted(signatures))})", flush=True)
    return final_path


def _task_exports(model, text_pair, max_answer_length, max_new_tokens,
                  xla_generate):
    """(signatures, method names other than Predict, warmup logs)."""
    if not isinstance(model, SUPPORTED_MODELS):
        supported = ", ".join(cls.__name__ for cls in SUPPORTED_MODELS)
        raise TypeError(
            f"export_saved_model cannot export a {type(model).__name__}; "
            f"it supports {supported}."
        )
    if text_pair and not isinstance(model, BertClassifier):
        raise ValueError(
            f"text_pair=True is for BertClassifier, not "
            f"{type(model).__name__}."
        )
    if max_answer_length is not None and not isinstance(
        model, BertQuestionAnswerer
    ):
        raise ValueError(
            f"max_answer_length is for BertQuestionAnswerer, not "
            f"{type(model).__name__}."
        )
    if max_new_tokens is not None and not isinstance(model, GenerativeTask):
        raise ValueError(
            f"max_new_tokens is for generative tasks (GPTCausalLM), not "
            f"{type(model).__name__}."
        )
    if xla_generate and not isinstance(model, GenerativeTask):
        raise ValueError(
            f"xla_generate=True is for generative tasks (GPTCausalLM), not "
            f"{type(model).__name__}."
        )
    if isinstance(model, GenerativeTask):
        max_new_tokens = max_new_tokens or DEFAULT_MAX_NEW_TOKENS
        return (
            generate_signatures(model, max_new_tokens, xla_generate),
            {},
            generate_warmup_logs(max_new_tokens),
        )
    if isinstance(model, BertClassifier):
        return (
            classifier_signatures(model, text_pair),
            {"classify": CLASSIFY_METHOD},
            classifier_warmup_logs(model, text_pair),
        )
    if isinstance(model, BertTokenClassifier):
        return (
            token_classifier_signatures(model),
            {},
            token_classifier_warmup_logs(model),
        )
    if max_answer_length is None:
        max_answer_length = DEFAULT_MAX_ANSWER_LENGTH
    return (
        question_answerer_signatures(model, max_answer_length),
        {},
        question_answerer_warmup_logs(model),
    )


def _set_method_name(export_dir, signature, method_name):
    """TF2 saves every signature as Predict; Classify needs its own."""
    path = os.path.join(export_dir, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as file:
        proto.ParseFromString(file.read())
    for meta_graph in proto.meta_graphs:
        meta_graph.signature_def[signature].method_name = method_name
    with open(path, "wb") as file:
        file.write(proto.SerializeToString())
