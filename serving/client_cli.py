"""The `python -m serving.client` command: calls a served model, prints.

Prints one line per output (or per example with `--classify`), or JSON
with `--json`. Exits with 1 on a `ServingError`, 2 on bad arguments.
`--protocol rest` runs without TensorFlow; gRPC imports it, quietly (see
`tfzoo.logs`).
"""

import argparse
import json
import sys

import numpy as np

from serving.client_values import bytes_to_json
from serving.errors import ServingError
from serving.prediction_client import DEFAULT_SIGNATURE
from serving.rest_client import RestPredictionClient


def main(argv=None, out=None, err=None):
    """Runs the command line; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parse_args(argv)
    try:
        with _make_client(args) as client:
            if args.status:
                _print(client.get_model_status(), _print_status, args.json,
                       out)
            if args.metadata:
                _print(client.get_model_metadata(), _print_metadata,
                       args.json, out)
            if args.classify:
                _print(client.classify(
                    _cli_examples(args), signature_name=args.signature
                ), _print_classes, args.json, out)
            elif args.text or args.input:
                _print(client.predict(
                    _cli_inputs(args), signature_name=args.signature,
                    output_filter=args.output_filter,
                ), _print_outputs, args.json, out)
    except ServingError as error:
        print(f"error: {error}", file=err)
        return 1
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=err)
        return 2
    return 0


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m serving.client",
        description="Calls a model served by TensorFlow Serving.",
    )
    parser.add_argument("--model", required=True, help="model name")
    parser.add_argument("--text", action="append", default=[],
                        help="input text; repeat for a batch")
    parser.add_argument("--text_pair", action="append", default=[],
                        help="second text of each pair; repeat like --text")
    parser.add_argument("--input", action="append", default=[],
                        metavar="NAME=VALUE",
                        help="another input; VALUE is JSON or else a string; "
                             "repeat a NAME to make a list")
    parser.add_argument("--output_filter", action="append", default=[],
                        metavar="NAME", help="only this output (repeatable)")
    parser.add_argument("--classify", action="store_true",
                        help="call Classify on examples with --text (and "
                             "--text_pair) features; tfzoo exports name "
                             "that signature 'classify' (--signature)")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8500, help="gRPC port")
    parser.add_argument("--rest_port", type=int, default=8501)
    parser.add_argument("--protocol", choices=["grpc", "rest"],
                        default="grpc")
    parser.add_argument("--signature", default=DEFAULT_SIGNATURE)
    versions = parser.add_mutually_exclusive_group()
    versions.add_argument("--version", type=int)
    versions.add_argument("--version_label")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds per attempt")
    parser.add_argument("--status", action="store_true",
                        help="print the model's version states")
    parser.add_argument("--metadata", action="store_true",
                        help="print the model's signatures")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if args.text_pair and len(args.text_pair) != len(args.text):
        parser.error(f"got {len(args.text_pair)} --text_pair for "
                     f"{len(args.text)} --text")
    if args.classify and not args.text:
        parser.error("--classify needs --text")
    if not (args.text or args.input or args.status or args.metadata):
        parser.error("nothing to do: pass --text, --input, --status or "
                     "--metadata")
    return args


def _make_client(args):
    options = dict(version=args.version, version_label=args.version_label,
                   timeout=args.timeout)
    if args.protocol == "grpc":
        from tfzoo.logs import import_tensorflow

        import_tensorflow()
        from serving.grpc_client import GrpcPredictionClient

        return GrpcPredictionClient(args.model, args.host, args.port,
                                    **options)
    return RestPredictionClient(
        args.model, f"http://{args.host}:{args.rest_port}", **options
    )


def _cli_inputs(args):
    """Predict inputs from --text, --text_pair and --input NAME=VALUE."""
    inputs = {}
    if args.text:
        inputs["text"] = args.text
    if args.text_pair:
        inputs["text_pair"] = args.text_pair
    values = {}
    for item in args.input:
        name, equals, text = item.partition("=")
        if not equals or not name:
            raise ValueError(f"--input wants NAME=VALUE, got {item!r}")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        values.setdefault(name, []).append(value)
    for name, items in values.items():
        inputs[name] = items[0] if len(items) == 1 else items
    return inputs


def _cli_examples(args):
    """Classify examples: a "text" feature, and "text_pair" if given."""
    examples = [{"text": text} for text in args.text]
    for example, pair in zip(examples, args.text_pair):
        example["text_pair"] = pair
    return examples


def _print(result, print_text, as_json, out):
    if as_json:
        print(_json_line(result), file=out)
    else:
        print_text(result, out)


def _print_status(versions, out):
    for status in versions:
        line = f"version {status['version']}: {status['state']}"
        if status["error_code"] != "OK":
            line += f" ({status['error_code']}: {status['error_message']})"
        print(line, file=out)


def _print_metadata(metadata, out):
    spec = metadata["model_spec"]
    print(f"model {spec['name']} version {spec['version']}", file=out)
    for name, signature in metadata["signature_def"].items():
        print(f"signature {name} ({signature['method_name']})", file=out)
        for role in ("inputs", "outputs"):
            for alias, info in signature[role].items():
                print(f"  {role[:-1]} {alias}: {info['dtype']} "
                      f"{info['shape']}", file=out)


def _print_classes(classifications, out):
    for index, classes in enumerate(classifications):
        pairs = ", ".join(f"{label} {score:.6g}" for label, score in classes)
        print(f"{index}: {pairs}", file=out)


def _print_outputs(outputs, out):
    for name, array in outputs.items():
        print(f"{name}: {_json_line(array)}", file=out)


def _json_line(value):
    return json.dumps(_jsonable(value), ensure_ascii=False)


def _jsonable(value):
    """Plain JSON values; floats as their shortest float32 decimal."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            floats = [float(str(item)) for item in value.reshape(-1)]
            return np.array(floats, dtype=object).reshape(value.shape).tolist()
        return _jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return bytes_to_json(value)
    if isinstance(value, (float, np.floating)):
        return float(str(np.float32(value)))
    if isinstance(value, np.generic):
        return value.item()
    return value
