"""TF Serving's REST API over a `ModelManager`.

    GET  /v1/models/NAME[/versions/N | /labels/L]            model status
    GET  /v1/models/NAME[/versions/N | /labels/L]/metadata   signatures
    POST /v1/models/NAME[/versions/N | /labels/L]:predict    (or :classify,
                                                              :regress)

Errors are `{"error": message}` with the HTTP status TF Serving maps each
status code to (NOT_FOUND 404; INVALID_ARGUMENT and FAILED_PRECONDITION
400; DEADLINE_EXCEEDED 504 after `--rest_api_timeout_in_ms`).

Requests are read as `tensorflow_model_server` reads them, so a client sees
the same status for a bad request from either server: the request-target
is parsed as libevent parses it (400 for characters or escapes it refuses,
404 outside /v1/, the query and fragment kept in the path the handler
matches), the path with TF Serving's case-insensitive regexes (versions
must fit an int64; names and labels are percent-decoded), methods as TF
Serving allows them (PUT, DELETE, PATCH and HEAD 400, OPTIONS a CORS
preflight, others 501), bodies as RapidJSON parses them (`json_body`), and
a body cut short of its Content-Length is not answered.
"""

import concurrent.futures
import http.client
import http.server
import json
import logging
import re
import socket
import threading

import grpc
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_pb2

from serving import json_body
from serving import rest_json
from serving.errors import ServingError
from serving.errors import invalid_argument
from serving.model_manager import status_proto
from serving.servable import DEFAULT_SIGNATURE

log = logging.getLogger("serving")

# http_rest_api_util.cc's kPredictionApiGegex and kModelStatusApiRegex,
# matched (RE2::FullMatch) against the path with its query and fragment.
_PREDICT_PATH = re.compile(
    r"/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?"
    r":(classify|regress|predict)",
    re.IGNORECASE | re.ASCII,
)
_STATUS_PATH = re.compile(
    r"/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?"
    r"(?:/(metadata))?",
    re.IGNORECASE | re.ASCII,
)
# http_rest_api_util.h's kHTTPRestApiHandlerPathRegex: other paths are not
# dispatched to the handler (404).
_API_PATH = re.compile(r"/v1/.*", re.IGNORECASE)
_PERCENT = re.compile(rb"%([0-9a-fA-F]{2})")
INT64_MAX = (1 << 63) - 1
# TF Serving (libevent) has no body limit; a body declared longer than this
# gets 413, the status libevent gives a body over its configured maximum.
MAX_BODY_BYTES = 1 << 30


class RestApi:
    """Answers REST requests: (HTTP status, JSON body) for a method + path."""

    def __init__(self, manager, timeout_seconds):
        self.manager = manager
        self.timeout_seconds = timeout_seconds
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=32)

    def handle(self, method, path, body):
        """`path` is the request's path with its query and fragment, as
        TF Serving's handler sees it (`uri_path()`)."""
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
        # http_rest_api_handler.cc's ProcessRequest and ParseModelInfo.
        malformed = invalid_argument(f"Malformed request: {method} {path}")
        match = None
        if method == "POST":
            match = _PREDICT_PATH.fullmatch(path)
        elif method == "GET":
            match = _STATUS_PATH.fullmatch(path)
        if match is None:
            raise malformed
        name, version_text, label, verb = match.groups()
        name = _unescape(name) if name else ""
        spec = model_pb2.ModelSpec(name=name)
        if version_text:
            version = int(version_text)
            if version > INT64_MAX:
                raise invalid_argument(
                    f"Failed to convert version: {version_text} to numeric."
                )
            spec.version.value = version
        if label:
            spec.version_label = _unescape(label)
        if method == "POST":
            if verb not in ("predict", "classify", "regress"):
                raise malformed  # The regex ignores case; this test does not.
            request = json_body.parse(body)
            if not isinstance(request, dict):
                raise invalid_argument(
                    f"JSON Value: {json_body.debug_string(request)} Is not "
                    f"object"
                )
            signature_name = request.get("signature_name", "")
            if not isinstance(signature_name, str):
                raise invalid_argument(
                    f"JSON Value: {json_body.debug_string(request)} not "
                    f"formatted correctly. 'signature_name' key must be a "
                    f"string value."
                )
            signature_name = signature_name or DEFAULT_SIGNATURE
            if verb == "predict":
                with self.manager.serving(spec) as (servable, _):
                    return self._predict(servable, signature_name, request)
            # The examples are read before the model is looked up.
            examples = rest_json.serialized_examples_from_json(request)
            with self.manager.serving(spec) as (servable, _):
                return getattr(self, "_" + verb)(servable, signature_name,
                                                 examples)
        if not name:
            raise invalid_argument("Missing model name in request.")
        if verb == "metadata":
            return self._metadata(spec)
        return self._status(spec)

    def _predict(self, servable, signature_name, request):
        if signature_name not in servable.signature_defs:
            # HttpRestApiHandler::GetInfoMap's error (gRPC says
            # FAILED_PRECONDITION "Serving signature key ... not found.").
            raise invalid_argument(
                f'Serving signature name: "{signature_name}" not found in '
                f"signature def"
            )
        _, signature = servable.signature(signature_name)
        inputs, row_format = rest_json.predict_inputs(request, signature)
        outputs = servable.predict(signature_name, inputs)
        return rest_json.predict_response(outputs, row_format)

    def _classify(self, servable, signature_name, examples):
        classes, scores = servable.classify(signature_name, examples)
        return rest_json.classify_response(classes, scores, len(examples))

    def _regress(self, servable, signature_name, examples):
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
        # GetModelStatusImpl looks at the version only; a label is ignored.
        version = spec.version.value if spec.HasField("version") else None
        response = get_model_status_pb2.GetModelStatusResponse()
        for number, status in self.manager.status(spec.name, version):
            response.model_version_status.append(status_proto(number, status))
        return json_format.MessageToDict(
            response,
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )



def _unescape(text):
    """curl_easy_unescape: %XX becomes the byte XX; anything else stays.
    Bytes that are not UTF-8 become U+FFFD (a proto string holds UTF-8; no
    configured model name holds them, so the lookup still fails)."""
    data = _PERCENT.sub(lambda match: bytes([int(match[1], 16)]),
                        text.encode("latin-1"))
    return data.decode("utf-8", "replace")


# The request-target grammar libevent's evhttp_uri_parse (flags 0) accepts,
# which TF Serving's net_http applies to every request (ParsedEvRequest::
# decode; a failure is 400): unreserved and sub-delim characters, ':', '@',
# '/' and %XX escapes; '?' also in the query and fragment.
_URI_CHARS = r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2}"
_URI = re.compile(
    rf"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+\-.]*):)?"
    rf"(?://(?P<authority>[^/?#]*))?"
    rf"(?P<path>(?:{_URI_CHARS})*)"
    rf"(?:\?(?P<query>(?:{_URI_CHARS}|\?)*))?"
    rf"(?:#(?P<fragment>(?:{_URI_CHARS}|\?)*))?",
    re.ASCII,
)
_AUTHORITY = re.compile(rf"(?:{_URI_CHARS}|[\[\]])*", re.ASCII)
# evhttp_server.cc's evhttp_set_allowed_methods; libevent answers any other
# method (TRACE, CONNECT, or one it does not know) with 501.
_ALLOWED_METHODS = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"}


def uri_path(target):
    """The path, '?query' and '#fragment' of a request-target as net_http's
    `uri_path()` gives them to TF Serving, or None if libevent refuses it."""
    match = _URI.fullmatch(target)
    if match is None:
        return None
    path = match["path"]
    if match["authority"] is not None:
        if not _AUTHORITY.fullmatch(match["authority"]) or (
            path and not path.startswith("/")
        ):
            return None
    elif not match["scheme"] and ":" in path.split("/", 1)[0]:
        return None  # A relative path's first segment may not hold ':'.
    if match["query"] is not None:
        path += "?" + match["query"]
    if match["fragment"] is not None:
        path += "#" + match["fragment"]
    return path


class _Refused(Exception):
    """A request answered before TF Serving's handler sees it: the status,
    the message, whether to close the connection, and whether to answer."""

    def __init__(self, status, message, answer=True):
        super().__init__(message)
        self.status = status
        self.message = message
        self.answer = answer


def make_http_server(api, host, port):
    """A threaded HTTP server answering with `api`.

    The request line, headers and body are read as TF Serving's HTTP
    library (libevent 2.1.12 under net_http) reads them, and every answer
    is JSON: where TF Serving's library answers with an HTML page (400 for
    a request-target it cannot parse, 404 outside /v1/, 501 for a method it
    does not serve) this server gives the same status with
    {"error": message}. A request whose body ends before its Content-Length
    (or its last chunk) is not answered; its connection is closed.
    """

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = READ_TIMEOUT_SECONDS

        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP,
                                       socket.TCP_NODELAY, 1)

        def handle_one_request(self):
            self.close_connection = True
            try:
                line = self.rfile.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return
                with server.requests:
                    server.in_flight += 1
                try:
                    self._handle(line)
                finally:
                    with server.requests:
                        server.in_flight -= 1
                        server.requests.notify_all()
                    if server.draining:
                        self.close_connection = True
            except (OSError, ValueError):  # timeouts, resets, closed files
                self.close_connection = True

        def _handle(self, line):
            self.raw_requestline = line
            self.requestline = line.rstrip(b"\r\n").decode("latin-1")
            self.command, self.request_version = "", "HTTP/1.1"
            self.path = ""
            try:
                self._serve(line)
            except _Refused as refused:
                if refused.answer:
                    self._send(refused.status, {"error": refused.message},
                               close=True)
                self.close_connection = True

        def _serve(self, line):
            if len(line) > MAX_LINE_BYTES:
                raise _Refused(414, "Request line too long")
            method, target, version = _request_line(self.requestline)
            self.command, self.path = method, target
            self.request_version = version
            try:
                self.headers = http.client.parse_headers(self.rfile)
            except (http.client.HTTPException, UnicodeDecodeError):
                raise _Refused(431, "Request header fields too large") from None
            connection = (self.headers.get("Connection") or "").lower()
            keep_alive = (version != "HTTP/1.0" or connection == "keep-alive")
            if connection == "close":
                keep_alive = False
            if method not in _ALLOWED_METHODS:
                raise _Refused(501, f"Method not implemented: {method}")
            body = b"" if method == "HEAD" else self._read_body(version)
            path = uri_path(target)
            if path is None:
                raise _Refused(400, f"Malformed request-target: {target}")
            if not _API_PATH.fullmatch(path):
                raise _Refused(404, f"Not found: {path}")
            if method == "OPTIONS":
                # http_server.cc answers CORS preflights itself.
                origin = self.headers.get("Origin") or ""
                if re.search(r"https?://", origin):
                    status, reply = 200, None
                else:
                    status, reply = 400, {
                        "error": "Origin header is missing in CORS preflight"
                    }
            else:
                status, reply = api.handle(method, path, body)
            self._send(status, reply, close=not keep_alive,
                       with_body=method != "HEAD")
            self.close_connection = not keep_alive

        def _read_body(self, version):
            chunked = (self.headers.get("Transfer-Encoding") or "").lower()
            length_text = self.headers.get("Content-Length")
            if chunked != "chunked":
                if length_text is None:
                    return b""  # libevent: no length, no body.
                match = re.fullmatch(r"\s*([+-]?\d+)", length_text)
                if match is None or int(match[1]) < 0:
                    raise _Refused(400, f"Invalid Content-Length: "
                                        f"{length_text!r}")
                length = int(match[1])
                if length == 0:
                    return b""
                if length > MAX_BODY_BYTES:
                    raise _Refused(413, f"Request body of {length} bytes is "
                                        f"larger than {MAX_BODY_BYTES}")
            self._expect_continue(version)
            if chunked == "chunked":
                return self._read_chunks()
            body = self.rfile.read(length)
            if len(body) < length:
                # The client stopped before its Content-Length: not a
                # request (libevent's EVREQ_HTTP_EOF), so no answer.
                raise _Refused(400, "Body shorter than Content-Length",
                               answer=False)
            return body

        def _expect_continue(self, version):
            expect = self.headers.get("Expect")
            if expect is None or version == "HTTP/1.0":
                return
            if expect.lower() != "100-continue":
                raise _Refused(417, f"Expectation failed: {expect}")
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()

        def _read_chunks(self):
            parts, total = [], 0
            while True:
                line = self.rfile.readline(MAX_LINE_BYTES + 1)
                if not line.endswith(b"\n"):
                    raise _Refused(400, "Truncated chunk", answer=False)
                size_text = line.split(b";", 1)[0].strip()
                if not re.fullmatch(rb"[0-9a-fA-F]+", size_text):
                    raise _Refused(400, "Invalid chunk size")
                size = int(size_text, 16)
                total += size
                if total > MAX_BODY_BYTES:
                    raise _Refused(413, "Chunked body too large")
                if size == 0:
                    break
                data = self.rfile.read(size + 2)
                if len(data) < size + 2:
                    raise _Refused(400, "Truncated chunk", answer=False)
                if data[size:] != b"\r\n":
                    raise _Refused(400, "Chunk not followed by CRLF")
                parts.append(data[:size])
            while True:  # trailers, up to the empty line
                line = self.rfile.readline(MAX_LINE_BYTES + 1)
                if not line.endswith(b"\n"):
                    raise _Refused(400, "Truncated trailer", answer=False)
                if line in (b"\r\n", b"\n"):
                    return b"".join(parts)

        def _send(self, status, reply, close=False, with_body=True):
            data = b""
            if reply is not None:
                text = json.dumps(reply, ensure_ascii=False)
                try:
                    data = text.encode("utf-8")
                except UnicodeEncodeError:  # bytes that were not UTF-8
                    data = json.dumps(reply).encode("ascii")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if close:
                self.send_header("Connection", "close")
            # Headers and body in one write: with two, Nagle's algorithm and
            # the client's delayed ACK hold keep-alive answers for ~40 ms.
            self._headers_buffer.append(b"\r\n")
            if with_body:
                self._headers_buffer.append(data)
            self.flush_headers()
            self.wfile.flush()

        def send_error(self, code, message=None, explain=None):
            # Never http.server's HTML page.
            self._send(code, {"error": message or str(code)}, close=True)
            self.close_connection = True

        def log_message(self, format, *args):
            log.debug("REST %s", format % args)

    server = DrainingHTTPServer((host, port), Handler)
    return server


class DrainingHTTPServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server that can finish its in-flight requests:
    `drain(timeout)` stops accepting, waits for every request whose
    request line was read to be answered, and closes the socket."""

    daemon_threads = True

    def __init__(self, address, handler):
        self.requests = threading.Condition()
        self.in_flight = 0
        self.draining = False
        super().__init__(address, handler)

    def drain(self, timeout):
        self.draining = True
        self.shutdown()
        with self.requests:
            drained = self.requests.wait_for(lambda: self.in_flight == 0,
                                             timeout=timeout)
        if not drained:
            log.warning("Stopping with %d REST requests unanswered",
                        self.in_flight)
        self.server_close()


# libevent's limits are larger or absent; these keep one request bounded.
MAX_LINE_BYTES = 65536
# libevent's HTTP_READ_TIMEOUT: a connection idle this long is dropped.
READ_TIMEOUT_SECONDS = 50


def _request_line(line):
    """(method, target, version) as libevent's evhttp_parse_request_line
    splits them: method up to the first space, version after the last, the
    target in between; 400 if malformed or not HTTP/0.x-1.x, 501 for a
    method libevent does not know."""
    line = line.rstrip(" ")
    method, space, rest = line.partition(" ")
    target, space2, version = rest.rpartition(" ")
    if len(line) < len("GET / HTTP/1.0") or not space or not space2 or (
        not target
    ):
        raise _Refused(400, f"Bad request line: {line!r}")
    match = re.fullmatch(r"HTTP/([+-]?\d+)\.([+-]?\d+)", version)
    if match is None or int(match[1]) > 1:
        raise _Refused(400, f"Bad HTTP version: {version!r}")
    # An unknown method gets 501 once its headers are read, as in libevent.
    return method, target, version
