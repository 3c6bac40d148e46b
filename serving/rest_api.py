"""TF Serving's REST API over a `ModelManager`.

    GET  /v1/models/NAME[/versions/N | /labels/L]            model status
    GET  /v1/models/NAME[/versions/N | /labels/L]/metadata   signatures
    POST /v1/models/NAME[/versions/N | /labels/L]:predict    (or :classify,
                                                              :regress)

Errors are `{"error": message}` with the HTTP status TF Serving maps each
status code to (NOT_FOUND 404; INVALID_ARGUMENT and FAILED_PRECONDITION
400; DEADLINE_EXCEEDED 504 after `--rest_api_timeout_in_ms`).
"""

import concurrent.futures
import http.server
import json
import logging
import re

import grpc
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_pb2

from serving import rest_json
from serving.errors import ServingError
from serving.errors import invalid_argument
from serving.model_manager import status_proto
from serving.servable import DEFAULT_SIGNATURE

log = logging.getLogger("serving")

_PATH = re.compile(
    r"/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?:(?P<metadata>/metadata)|:(?P<verb>predict|classify|regress))?$"
)
MAX_BODY_BYTES = 1 << 30


class RestApi:
    """Answers REST requests: (HTTP status, JSON body) for a method + path."""

    def __init__(self, manager, timeout_seconds):
        self.manager = manager
        self.timeout_seconds = timeout_seconds
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=32)

    def handle(self, method, path, body):
        try:
            future = self.pool.submit(self._dispatch, method, path, body)
            try:
                return 200, future.result(timeout=self.timeout_seconds)
            except concurrent.futures.TimeoutError:
                raise ServingError(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"Request timed out after {self.timeout_seconds * 1000:g} "
                    f"ms (--rest_api_timeout_in_ms)",
                ) from None
        except ServingError as error:
            return error.http_status, {"error": error.message}
        except Exception as error:  # noqa: BLE001
            log.exception("Internal error for %s %s", method, path)
            return 500, {"error": f"{type(error).__name__}: {error}"}

    def _dispatch(self, method, path, body):
        match = _PATH.match(path.split("?", 1)[0])
        wants_post = bool(match and match["verb"])
        if not match or method != ("POST" if wants_post else "GET"):
            raise invalid_argument(f"Malformed request: {method} {path}")
        spec = model_pb2.ModelSpec(name=match["name"])
        if match["version"]:
            spec.version.value = int(match["version"])
        if match["label"]:
            spec.version_label = match["label"]
        if match["verb"]:
            request = _json_body(body)
            signature_name = request.get("signature_name", DEFAULT_SIGNATURE)
            if not isinstance(signature_name, str):
                raise invalid_argument(
                    "'signature_name' key must be a string value."
                )
            servable, version = self.manager.resolve(spec)
            return getattr(self, "_" + match["verb"])(
                servable, signature_name or DEFAULT_SIGNATURE, request
            )
        if match["metadata"]:
            return self._metadata(spec)
        return self._status(spec)

    def _predict(self, servable, signature_name, request):
        _, signature = servable.signature(signature_name)
        inputs, row_format = rest_json.predict_inputs(request, signature)
        outputs = servable.predict(signature_name, inputs)
        return rest_json.predict_response(outputs, row_format)

    def _classify(self, servable, signature_name, request):
        examples = rest_json.serialized_examples_from_json(request)
        classes, scores = servable.classify(signature_name, examples)
        return rest_json.classify_response(classes, scores, len(examples))

    def _regress(self, servable, signature_name, request):
        examples = rest_json.serialized_examples_from_json(request)
        values = servable.regress(signature_name, examples)
        return {"results": [float(value) for value in values]}

    def _metadata(self, spec):
        servable, version = self.manager.resolve(spec)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for name, signature in servable.signature_defs.items():
            signature_map.signature_def[name].CopyFrom(signature)
        return {
            "model_spec": {
                "name": spec.name,
                "signature_name": "",
                "version": str(version),
            },
            "metadata": {
                "signature_def": json_format.MessageToDict(
                    signature_map, preserving_proto_field_name=True
                )
            },
        }

    def _status(self, spec):
        if spec.version_label:
            _, version = self.manager.resolve(spec)
        else:
            version = spec.version.value if spec.HasField("version") else None
        response = get_model_status_pb2.GetModelStatusResponse()
        for number, status in self.manager.status(spec.name, version):
            response.model_version_status.append(status_proto(number, status))
        return json_format.MessageToDict(
            response,
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )


def _json_body(body):
    try:
        request = json.loads(body.decode("utf-8") if body else "")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise invalid_argument(f"JSON Parse error: {error}") from None
    if not isinstance(request, dict):
        raise invalid_argument(
            "JSON Parse error: the request body must be a JSON object"
        )
    return request


def make_http_server(api, host, port):
    """A threaded HTTP server answering with `api`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self._answer(b"")

        def do_POST(self):
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                self._send(400, {"error": "Invalid Content-Length"})
                self.close_connection = True
                return
            self._answer(self.rfile.read(length))

        def _answer(self, body):
            status, reply = api.handle(self.command, self.path, body)
            self._send(status, reply)

        def _send(self, status, reply):
            data = json.dumps(reply, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            log.debug("REST %s", format % args)

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
