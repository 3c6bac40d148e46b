"""Reads exported SavedModels, and calls them as a server would.

`serve` calls signatures in a fresh process that imports only
`tensorflow` and `tensorflow_text`, so the SavedModel must carry
everything it needs.
"""

import json
import os
import subprocess
import sys

from tensorflow.core.protobuf import saved_model_pb2

SERVE_SCRIPT = """
import ast
calls = ast.literal_eval(sys.stdin.read())
models, results = {}, []
for path, name, inputs in calls:
    if path not in models:
        models[path] = tf.saved_model.load(path)
    tensors = {key: tf.constant(value) for key, value in inputs.items()}
    outputs = models[path].signatures[name](**tensors)
    results.append({key: value.numpy().tolist()
                    for key, value in outputs.items()})
print(json.dumps(results, default=lambda b: b.decode()))
"""


def run_without_tfzoo(script, stdin=""):
    """Runs `script` in a fresh process that imports no tfzoo; returns the
    JSON it prints last."""
    code = (
        "import json, sys, tensorflow as tf, tensorflow_text\n"
        + script
        + "\nassert not any(m.startswith('tfzoo') for m in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=stdin, capture_output=True,
        text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def serve(calls):
    """Runs `(saved_model_path, signature_name, inputs)` calls, `inputs`
    mapping names to (nested) lists; returns each call's outputs as
    lists, strings decoded."""
    calls = [
        (path, name, {key: _as_list(value) for key, value in inputs.items()})
        for path, name, inputs in calls
    ]
    return run_without_tfzoo(SERVE_SCRIPT, stdin=repr(calls))


def _as_list(value):
    return value.tolist() if hasattr(value, "tolist") else list(value)


def signature_defs(path):
    """The SavedModel's SignatureDefs by name (without the init op)."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as file:
        proto.ParseFromString(file.read())
    signatures = proto.meta_graphs[0].signature_def
    return {name: signatures[name] for name in signatures
            if not name.startswith("__")}


def tensor_specs(signature):
    """`{"inputs": {name: (dtype, shape)}, "outputs": ...}` of a
    SignatureDef, to compare two signatures' interfaces."""
    return {side: {name: (tensor.dtype, tensor.tensor_shape)
                   for name, tensor in getattr(signature, side).items()}
            for side in ("inputs", "outputs")}
