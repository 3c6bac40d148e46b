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
from tfzoo.export.embedder_signatures import (
    corpus_index,
    embedder_signatures,
    embedder_warmup_logs,
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

WARMUP_FILE = warmup.WARMUP_FILE


def next_version(base_path):
    """1 + the highest numeric version directory in `base_path` (or 1)."""
    if not os.path.isdir(base_path):
        return 1
    versions = [int(name) for name in os.listdir(base_path) if name.isdigit()]
    return max(versions, default=0) + 1


def export_saved_model(model, base_path, version=None, text_pair=False,
                       max_answer_length=None, max_new_tokens=None,
                       xla_generate=False, corpus=None, corpus_ids=None,
                       corpus_dtype=None, corpus_embeddings=None,
                       verbose=False):
    """Writes `base_path/<version>/`, a SavedModel TF Serving can load.

    The signatures follow the task's `serving_kind` (`SERVING_KINDS`).
    Classifiers, token classifiers and question answerers built with a
    preprocessor get `serving_default` (raw text in, tokenized in the
    graph by the model's own preprocessor) and `predict_token_ids`
    (`token_ids`, `segment_ids`, `padding_mask` int32
    `[batch, sequence_length]` in, raw head outputs out); classifiers also
    get `classify` (TF Serving's Classify API). Generative tasks
    (`GPTCausalLM`, ...) built with a tokenizer get `serving_default`
    (prompt text in, generated text out) and `generate` (per-request
    sampling options). Inputs and outputs per kind are in the docs of
    `tfzoo.export.classifier_signatures`, `token_classifier_signatures`,
    `question_answerer_signatures` and `generate_signatures`.

    Args:
        model: a task whose `serving_kind` is in `SERVING_KINDS` (e.g. a
            `BertClassifier`, `BertTokenClassifier` or
            `BertQuestionAnswerer` built with a preprocessor, or a
            `GPTCausalLM` built with a tokenizer).
        base_path: the model's directory; versions are subdirectories.
        version: default one above the highest present.
        text_pair: classifiers only: serve `text` and `text_pair`.
        max_answer_length: question answerers only: the longest answer in
            tokens (default 30).
        max_new_tokens: generative tasks only: the tokens `serving_default`
            generates (default 32); see `tfzoo.export.generate_signatures`
            for its `serving_default` and `generate` signatures.
        xla_generate: generative tasks only: also export `generate_xla`,
            `generate` with its decode compiled by XLA, for servers
            started with `--xla_cpu_compilation_enabled=true` (others
            answer it INTERNAL "XLA compilation disabled"). It gets no
            warmup records, since TF Serving fails a version's load when
            a warmup request fails.
        corpus: text embedders only: a list of texts to search; adds the
            `search` signature, with the corpus embedded at export time
            and stored in the SavedModel (see
            `tfzoo.export.embedder_signatures`).
        corpus_ids: one unique id per corpus text (default "0", "1", ...).
        corpus_dtype: "float32" (default) or "bfloat16" (half the size)
            for the stored corpus embeddings.
        corpus_embeddings: text embedders only, with `corpus`: the
            corpus's embeddings, precomputed (e.g. embedded in batches
            earlier, or elsewhere with this same model), a float array
            `[len(corpus), model.embedding_dim]` in corpus order, instead
            of embedding the corpus at export time. Rows are normalised
            to unit length as encoded ones are; the shape and finite,
            non-zero rows are checked.
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
    given = {
        "text_pair": text_pair, "max_answer_length": max_answer_length,
        "max_new_tokens": max_new_tokens, "xla_generate": xla_generate,
        "corpus": corpus, "corpus_ids": corpus_ids,
        "corpus_dtype": corpus_dtype,
        "corpus_embeddings": corpus_embeddings, "verbose": verbose,
    }
    signatures, method_names, warmup_logs, trackables = _task_exports(
        model,
        {k: v for k, v in given.items() if v is not None and v is not False},
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
        for name, trackable in trackables.items():
            setattr(module, name, trackable)
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


def _classifier_exports(model, options):
    return (
        classifier_signatures(model, options.get("text_pair", False)),
        {"classify": CLASSIFY_METHOD},
        classifier_warmup_logs(model, options.get("text_pair", False)), {},
    )


def _token_classifier_exports(model, options):
    return (
        token_classifier_signatures(model), {},
        token_classifier_warmup_logs(model), {},
    )


def _question_answerer_exports(model, options):
    max_answer_length = options.get(
        "max_answer_length", DEFAULT_MAX_ANSWER_LENGTH
    )
    return (
        question_answerer_signatures(model, max_answer_length), {},
        question_answerer_warmup_logs(model), {},
    )


def _embedder_exports(model, options):
    index = None
    if options.get("corpus") is not None:
        index = corpus_index(
            model, options["corpus"], options.get("corpus_ids"),
            options.get("corpus_dtype", "float32"),
            progress=options.get("verbose", False),
            embeddings=options.get("corpus_embeddings"),
        )
    elif options.get("corpus_embeddings") is not None:
        raise ValueError(
            "corpus_embeddings needs corpus=, the texts they embed (search "
            "returns them with their ids)."
        )
    return (
        embedder_signatures(model, index), {},
        embedder_warmup_logs(model, index), {"corpus_index": index},
    )


def _generator_exports(model, options):
    max_new_tokens = options.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)
    return (
        generate_signatures(
            model, max_new_tokens, options.get("xla_generate", False)
        ),
        {},
        generate_warmup_logs(
            max_new_tokens,
            encoder_decoder=getattr(model, "decoder_start_token_id",
                                    None) is not None,
        ),
        {},
    )


# A task's `serving_kind` -> (its exports, the export options it takes).
# Exports return (signatures, method names other than Predict, warmup
# logs, objects the signatures use that the SavedModel must keep).
SERVING_KINDS = {
    "classifier": (_classifier_exports, ("text_pair",)),
    "token_classifier": (_token_classifier_exports, ()),
    "question_answerer": (_question_answerer_exports, ("max_answer_length",)),
    "generator": (_generator_exports, ("max_new_tokens", "xla_generate")),
    "embedder": (_embedder_exports,
                 ("corpus", "corpus_ids", "corpus_dtype",
                  "corpus_embeddings")),
}


def _task_exports(model, options):
    """`model`'s exports (see `SERVING_KINDS`); `options` holds the
    export options given (and `verbose`)."""
    kind = getattr(model, "serving_kind", None)
    if kind not in SERVING_KINDS:
        raise TypeError(
            f"export_saved_model cannot export a {type(model).__name__}: its "
            f"serving_kind is {kind!r}; tasks of kinds {sorted(SERVING_KINDS)} "
            f"export (classifiers, token classifiers, question answerers, "
            f"text embedders and generative tasks)."
        )
    exports, accepted = SERVING_KINDS[kind]
    for name in options:
        if name not in accepted and name != "verbose":
            takers = [k for k, (_, names) in SERVING_KINDS.items()
                      if name in names]
            raise ValueError(
                f"{name} is for {' and '.join(takers)} tasks, not "
                f"{type(model).__name__} (a {kind})."
            )
    return exports(model, options)


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
