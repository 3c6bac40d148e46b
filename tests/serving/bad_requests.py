"""Bad requests and the status TF Serving 2.21 gives each, with its source.

Shared by test_bad_requests.py (every row against a real server) and
test_fuzz_requests.py (thousands of seeded variations). Sources are files
of github.com/tensorflow/serving (HEAD of July 2026, after 2.20; the 2.21
release branch is not published in the mirror read) and of the libraries it
pins: libevent 2.1.12 (`http.c`, under `util/net_http`) and RapidJSON 1.1.0
(`reader.h`, `encodedstream.h`).

Where TF Serving's own answer is an HTML page from libevent (400 for a
request-target libevent cannot parse, 404 outside /v1/, 501 for methods it
does not serve) the local server gives the same status with a JSON error;
`json_body` is False only where TF Serving sends no body at all (HEAD) or
an empty 200 (a CORS preflight).
"""

import base64
import socket
import time

MODEL = "reviews"
M = f"/v1/models/{MODEL}"
TEXT = {"instances": ["a fine film"]}
SEQUENCE = 32

# File shorthands for the source column.
HANDLER = "model_servers/http_rest_api_handler.cc"
UTIL = "model_servers/http_rest_api_util.cc"
HTTP_SERVER = "model_servers/http_server.cc"
JSON_TENSOR = "util/json_tensor.cc"
EVHTTP_SERVER = "util/net_http/server/internal/evhttp_server.cc"
EVHTTP_REQUEST = "util/net_http/server/internal/evhttp_request.cc"
LIBEVENT = "libevent 2.1.12 http.c"
RAPIDJSON = "RapidJSON 1.1.0 reader.h"
SERVER_CORE = "model_servers/server_core.cc"
PREDICT_UTIL = "servables/tensorflow/predict_util.cc"
PREDICT_IMPL = "servables/tensorflow/predict_impl.cc"
CLASSIFIER = "servables/tensorflow/classifier.cc"
REGRESSOR = "servables/tensorflow/regressor.cc"
TF_UTIL = "servables/tensorflow/util.cc"
METADATA = "servables/tensorflow/get_model_metadata_impl.cc"
STATUS = "model_servers/get_model_status_impl.cc"
FROM_PROTO = "TF Tensor::FromProto via saved_model/util.cc GetInputValues"


def http(method, target, body=None, headers=(), length=None,
         version="HTTP/1.1"):
    """The bytes of one HTTP request; `length` overrides Content-Length
    (a string, or False for none)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    lines = [f"{method} {target} {version}".encode("latin-1"),
             b"Host: 127.0.0.1"]
    lines += [f"{name}: {value}".encode("latin-1") for name, value in headers]
    if length is None and body is not None:
        length = str(len(body))
    if length is not False and length is not None:
        lines.append(f"Content-Length: {length}".encode("latin-1"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def post(path, body, **kwargs):
    if isinstance(body, dict):
        import json
        body = json.dumps(body)
    return http("POST", path, body, **kwargs)


def token_row(value=1, **overrides):
    row = {name: [value] * SEQUENCE
           for name in ("token_ids", "segment_ids", "padding_mask")}
    row.update(overrides)
    return row


def tokens(rows):
    return {"signature_name": "predict_token_ids", "instances": rows}


def deep(depth, leaf='"a"'):
    return "[" * depth + leaf + "]" * depth


def b64(text):
    return {"b64": base64.b64encode(text.encode()).decode()}


def examples(*rows, **extra):
    return {"signature_name": "classify", "examples": list(rows), **extra}


# (id, request bytes, expected HTTP status or None for "no answer, the
#  connection is closed", JSON error body expected, TF Serving source).
REST_CASES = [
    # --- JSON syntax (RapidJSON with kParseIterativeFlag |
    # kParseNanAndInfFlag | kParseStopWhenDoneFlag, json_tensor.cc ParseJson)
    ("json unterminated", post(f"{M}:predict", '{"instances": ["a"]'), 400,
     True, f"{JSON_TENSOR} ParseJson"),
    ("json empty body", post(f"{M}:predict", ""), 400, True,
     f"{JSON_TENSOR} ParseJson: 'The document is empty'"),
    ("json no content-length", http("POST", f"{M}:predict", None), 400, True,
     f"{LIBEVENT} evhttp_get_body: no length, no body; then ParseJson"),
    ("json top-level array", post(f"{M}:predict", '["a"]'), 400, True,
     f"{JSON_TENSOR} ParseJson: 'Is not object'"),
    ("json top-level string", post(f"{M}:predict", '"a"'), 400, True,
     f"{JSON_TENSOR} ParseJson: 'Is not object'"),
    ("json single quotes", post(f"{M}:predict", "{'instances': ['a']}"), 400,
     True, RAPIDJSON),
    ("json trailing comma", post(f"{M}:predict", '{"instances": ["a"],}'),
     400, True, RAPIDJSON),
    ("json raw control char", post(f"{M}:predict", '{"instances": ["a\x01"]}'),
     400, True, f"{RAPIDJSON} ParseStringToStream (< 0x20)"),
    ("json bad escape", post(f"{M}:predict", r'{"instances": ["\q"]}'), 400,
     True, f"{RAPIDJSON} kParseErrorStringEscapeInvalid"),
    ("json trailing garbage ignored",
     post(f"{M}:predict", '{"instances": ["a"]} }}} not json'), 200, False,
     f"{JSON_TENSOR} ParseJson: kParseStopWhenDoneFlag"),
    ("json NaN and Infinity accepted",
     post(f"{M}:predict",
          '{"instances": ["a"], "x": [NaN, Inf, -Infinity]}'),
     200, False, f"{JSON_TENSOR} ParseJson: kParseNanAndInfFlag"),
    ("json number too big", post(f"{M}:predict",
                                 '{"instances": ["a"], "x": 1e400}'),
     400, True, f"{RAPIDJSON} kParseErrorNumberTooBig"),
    # --- depth: RapidJSON parses iteratively, so depth alone is no error.
    ("depth 5000 in an ignored key",
     post(f"{M}:predict", '{"instances": ["a"], "x": ' + deep(5000) + "}"),
     200, False, f"{JSON_TENSOR} ParseJson: kParseIterativeFlag"),
    ("depth 5000 unterminated", post(f"{M}:predict", "[" * 5000), 400, True,
     f"{JSON_TENSOR} ParseJson: kParseIterativeFlag, then a syntax error"),
    ("depth 5000 as the input",
     post(f"{M}:predict", '{"instances": ' + deep(5000) + "}"), 400, True,
     f"{JSON_TENSOR} FillTensorProto gives a 5000-dim shape; {FROM_PROTO} "
     "refuses more than 254 dims (tensor parsing error)"),
    ("depth 100000 object nesting",
     post(f"{M}:predict", '{"x":' * 100000 + "1" + "}" * 100000), 400, True,
     f"{JSON_TENSOR}: no 'instances' or 'inputs' key"),
    # --- encodings
    ("utf-8 BOM before valid JSON",
     post(f"{M}:predict", b'\xef\xbb\xbf{"instances": ["a"]}'),
     200, False, "RapidJSON 1.1.0 encodedstream.h EncodedInputStream<UTF8<>, "
     "MemoryStream> skips EF BB BF"),
    ("utf-8 BOM before invalid JSON",
     post(f"{M}:predict", b"\xef\xbb\xbf{"), 400, True, RAPIDJSON),
    ("invalid utf-8 inside a string reaches the model",
     post(f"{M}:predict", b'{"instances": ["caf\xe9 \xff"]}'), 400, True,
     f"{JSON_TENSOR} ParseJson: no kParseValidateEncodingFlag, so the bytes "
     "reach the graph, whose tokenizer asserts UTF-8 (INVALID_ARGUMENT)"),
    ("invalid utf-8 in an ignored key and value",
     post(f"{M}:predict", b'{"instances": ["a"], "\xff": "\xfe"}'), 200,
     False, f"{JSON_TENSOR} ParseJson: no kParseValidateEncodingFlag"),
    ("invalid utf-8 outside strings",
     post(f"{M}:predict", b'{"instances": [\xff]}'), 400, True, RAPIDJSON),
    ("lone high surrogate escape",
     post(f"{M}:predict", r'{"instances": ["\ud800"]}'), 400, True,
     f"{RAPIDJSON} kParseErrorStringUnicodeSurrogateInvalid"),
    ("high surrogate then non-surrogate",
     post(f"{M}:predict", r'{"instances": ["\ud800\u0041"]}'), 400, True,
     f"{RAPIDJSON} kParseErrorStringUnicodeSurrogateInvalid"),
    ("lone low surrogate escape is kept",
     post(f"{M}:predict", r'{"instances": ["a"], "x": "\udc00"}'), 200,
     False, f"{RAPIDJSON} (1.1.0 checks only high surrogates)"),
    ("lone low surrogate reaches the model",
     post(f"{M}:predict", r'{"instances": ["\udc00"]}'), 400, True,
     f"{RAPIDJSON} keeps it as bytes ED B0 80; the tokenizer asserts UTF-8"),
    ("surrogate pair", post(f"{M}:predict", r'{"instances": ["\ud83d\ude00"]}'),
     200, False, RAPIDJSON),
    # --- types (json_tensor.cc AddValueToTensor / FillTensorProto)
    ("number for a string input", post(f"{M}:predict", {"instances": [1.5]}),
     400, True, f"{JSON_TENSOR} AddValueToTensor: TypeError"),
    ("null for a string input", post(f"{M}:predict", {"instances": [None]}),
     400, True, f"{JSON_TENSOR} AddValueToTensor: TypeError"),
    ("bool for a string input", post(f"{M}:predict", {"instances": [True]}),
     400, True, f"{JSON_TENSOR} AddValueToTensor: TypeError"),
    ("b64 object for a string input", post(f"{M}:predict",
                                           {"instances": [b64("fine")]}),
     200, False, f"{JSON_TENSOR} JsonDecodeBase64Object"),
    ("b64 not base64", post(f"{M}:predict", {"instances": [{"b64": "!!!"}]}),
     400, True, f"{JSON_TENSOR} JsonDecodeBase64Object: 'Unable to base64 "
     "decode'"),
    ("b64 value not a string", post(f"{M}:predict",
                                    {"instances": [{"b64": 5}]}),
     400, True, f"{JSON_TENSOR} FillTensorMapFromInstancesList: an object "
     "that is not b64 is a named row; 'b64' is not an input"),
    ("ragged string rows", post(f"{M}:predict",
                                {"inputs": [["a", "b"], ["c"]]}),
     400, True, f"{JSON_TENSOR} FillTensorProto: list at unexpected size"),
    ("value and list mixed", post(f"{M}:predict", {"inputs": [["a"], "b"]}),
     400, True, f"{JSON_TENSOR} FillTensorProto: incorrect level"),
    ("int32 input given 1.5", post(f"{M}:predict",
                                   tokens([token_row(1.5)])),
     400, True, f"{JSON_TENSOR} AddValueToTensor DT_INT32: IsInt"),
    ("int32 input given 1.0", post(f"{M}:predict",
                                   tokens([token_row(1.0)])),
     400, True, f"{JSON_TENSOR} AddValueToTensor DT_INT32: IsInt (a JSON "
     "number with a fraction is a double)"),
    ("int32 input given 2**31", post(f"{M}:predict",
                                     tokens([token_row(2 ** 31)])),
     400, True, f"{JSON_TENSOR} AddValueToTensor DT_INT32: IsInt"),
    ("int32 input given 2**64", post(f"{M}:predict",
                                     tokens([token_row(2 ** 64)])),
     400, True, f"{JSON_TENSOR} AddValueToTensor; RapidJSON makes it a double"),
    ("int32 input given true", post(f"{M}:predict",
                                    tokens([token_row(True)])),
     400, True, f"{JSON_TENSOR} AddValueToTensor DT_INT32: IsInt"),
    ("int32 input given strings", post(f"{M}:predict",
                                       tokens([token_row("1")])),
     400, True, f"{JSON_TENSOR} AddValueToTensor DT_INT32: IsInt"),
    ("int32 inputs valid", post(f"{M}:predict", tokens([token_row(1)])), 200,
     False, JSON_TENSOR),
    ("named row missing an input",
     post(f"{M}:predict", tokens([{"token_ids": [1] * SEQUENCE}])), 400, True,
     f"{JSON_TENSOR} FillTensorMapFromInstancesList: keys must be equal"),
    ("named row with an unknown input",
     post(f"{M}:predict", tokens([token_row(1, extra=[1])])), 400, True,
     f"{JSON_TENSOR} AddInstanceItem: 'does not have named input'"),
    ("named rows then a plain value",
     post(f"{M}:predict", tokens([token_row(1), [1]])), 400, True,
     f"{JSON_TENSOR} FillTensorMapFromInstancesList: 'Expecting object'"),
    ("plain list for three inputs",
     post(f"{M}:predict", tokens([[1] * SEQUENCE])), 400, True,
     f"{JSON_TENSOR} FillTensorMapFromInstancesList: 'instances is a plain "
     "list'"),
    ("columnar object ignores unknown keys",
     post(f"{M}:predict", {"inputs": {"text": ["a"], "other": [1]}}), 200,
     False, f"{JSON_TENSOR} FillTensorMapFromInputsMap reads only the "
     "signature's inputs"),
    ("columnar object missing an input",
     post(f"{M}:predict", {"inputs": {"other": ["a"]}}), 400, True,
     f"{JSON_TENSOR} FillTensorMapFromInputsMap: 'Missing named input'"),
    ("signature_name not a string",
     post(f"{M}:predict", {"signature_name": 5, **TEXT}), 400, True,
     f"{JSON_TENSOR} FillSignature"),
    ("unknown signature", post(f"{M}:predict",
                               {"signature_name": "nope", **TEXT}),
     400, True, f"{HANDLER} GetInfoMap: INVALID_ARGUMENT"),
    # --- instances / inputs
    ("both instances and inputs",
     post(f"{M}:predict", {"instances": ["a"], "inputs": ["a"]}), 400, True,
     f"{JSON_TENSOR} FillPredictRequestFromJson"),
    ("neither instances nor inputs", post(f"{M}:predict", {"x": ["a"]}), 400,
     True, f"{JSON_TENSOR} FillPredictRequestFromJson: 'Missing 'inputs' or "
     "'instances' key'"),
    ("instances empty list", post(f"{M}:predict", {"instances": []}), 400,
     True, f"{JSON_TENSOR} FillPredictRequestFromJson: 'No values in "
     "'instances' array'"),
    ("instances an object", post(f"{M}:predict", {"instances": {"text": "a"}}),
     400, True, f"{JSON_TENSOR} FillPredictRequestFromJson: 'Expecting "
     "'instances' to be an list/array'"),
    ("instances a string", post(f"{M}:predict", {"instances": "a"}), 400,
     True, f"{JSON_TENSOR} FillPredictRequestFromJson"),
    # --- models, versions, labels (http_rest_api_util.cc ParseModelInfo)
    ("unknown model", post("/v1/models/nope:predict", TEXT), 404, True,
     f"{SERVER_CORE} GetServableHandle: NOT_FOUND"),
    ("unknown model, bad JSON", post("/v1/models/nope:predict", "{"), 400,
     True, f"{JSON_TENSOR}: the body is parsed before the model is looked up"),
    ("unknown version", post(f"{M}/versions/9:predict", TEXT), 404, True,
     f"{SERVER_CORE} GetServableHandle: NOT_FOUND"),
    ("version beyond int64",
     post(f"{M}/versions/99999999999999999999:predict", TEXT), 400, True,
     f"{UTIL} ParseModelInfo: SimpleAtoi fails"),
    ("version 2**63", post(f"{M}/versions/9223372036854775808:predict", TEXT),
     400, True, f"{UTIL} ParseModelInfo: SimpleAtoi fails"),
    ("version int64 max", post(f"{M}/versions/9223372036854775807:predict",
                               TEXT), 404, True,
     f"{UTIL} ParseModelInfo, then NOT_FOUND"),
    ("version with leading zeros", post(f"{M}/versions/0001:predict", TEXT),
     200, False, f"{UTIL} ParseModelInfo: SimpleAtoi('0001') is 1"),
    ("version negative", post(f"{M}/versions/-1:predict", TEXT), 400, True,
     f"{UTIL} kPredictionApiGegex (\\d+) does not match: Malformed request"),
    ("version not a number", post(f"{M}/versions/one:predict", TEXT), 400,
     True, f"{UTIL} kPredictionApiGegex does not match: Malformed request"),
    ("version percent-encoded digit", post(f"{M}/versions/%31:predict", TEXT),
     400, True, f"{UTIL} the version is not unescaped; \\d+ does not match"),
    ("unknown label", post(f"{M}/labels/canary:predict", TEXT), 400, True,
     f"{SERVER_CORE} GetModelVersionForLabel: INVALID_ARGUMENT"),
    ("status of unknown model", http("GET", "/v1/models/nope"), 404, True,
     f"{STATUS}: NOT_FOUND"),
    ("status of unknown version", http("GET", f"{M}/versions/9"), 404, True,
     f"{STATUS}: NOT_FOUND"),
    ("status version beyond int64",
     http("GET", f"{M}/versions/18446744073709551616"), 400, True,
     f"{UTIL} ParseModelInfo: SimpleAtoi fails"),
    ("status ignores the label", http("GET", f"{M}/labels/canary"), 200,
     False, f"{STATUS} reads only model_spec.version"),
    ("status without a model name", http("GET", "/v1/models"), 400, True,
     f"{HANDLER} ProcessModelStatusRequest: 'Missing model name'"),
    ("metadata of unknown model", http("GET", "/v1/models/nope/metadata"),
     404, True, f"{METADATA}: NOT_FOUND"),
    ("metadata with unknown label", http("GET", f"{M}/labels/x/metadata"),
     400, True, f"{SERVER_CORE} GetModelVersionForLabel"),
    ("metadata", http("GET", f"{M}/metadata"), 200, False, METADATA),
    # --- paths: the regexes are case-insensitive ((?i)), the verb and
    # 'metadata' comparisons after them are not.
    ("upper-case path", post(f"/V1/MODELS/{MODEL}:predict", TEXT), 200,
     False, f"{UTIL} (?i) regexes"),
    ("upper-case verb", post(f"{M}:PREDICT", TEXT), 400, True,
     f"{HANDLER} ProcessRequest compares the verb exactly"),
    ("upper-case METADATA is a status request",
     http("GET", f"{M}/METADATA"), 200, False,
     f"{HANDLER} ProcessRequest: subresource == 'metadata' only"),
    ("unknown verb", post(f"{M}:explain", TEXT), 400, True,
     f"{UTIL} kPredictionApiGegex: Malformed request"),
    ("GET of a verb", http("GET", f"{M}:predict"), 400, True,
     f"{UTIL} kModelStatusApiRegex: Malformed request"),
    ("POST of status", post(M, TEXT), 400, True,
     f"{UTIL} kPredictionApiGegex: Malformed request"),
    ("extra path segment", http("GET", f"{M}/extra"), 400, True,
     f"{UTIL}: Malformed request"),
    ("outside /v1/", http("GET", "/v2/models/reviews"), 404, True,
     f"{HTTP_SERVER} RestApiRequestDispatcher: no handler; "
     f"{EVHTTP_SERVER} 404"),
    ("root path", http("GET", "/"), 404, True,
     f"{EVHTTP_SERVER} DispatchEvRequest: 404"),
    ("/v1 without slash", http("GET", "/v1"), 404, True,
     f"{HTTP_SERVER} kHTTPRestApiHandlerPathRegex (?i)/v1/.*"),
    ("dot-dot segment", http("GET", "/v1/models/../reviews"), 400, True,
     f"{UTIL}: no normalisation; Malformed request"),
    ("dot-dot to leave /v1/", http("GET", "/v1/../etc/passwd"), 400, True,
     f"{UTIL}: Malformed request (the path still starts /v1/)"),
    ("percent-encoded dot-dot", http("GET", "/v1/models/%2e%2e"), 404, True,
     f"{UTIL} DecodeArg: the name '..' is looked up"),
    ("percent-encoded model name", post("/v1/models/re%76iews:predict", TEXT),
     200, False, f"{UTIL} DecodeArg (curl_easy_unescape)"),
    ("percent-encoded slash in name", http("GET", "/v1/models/a%2Fb"), 404,
     True, f"{UTIL} DecodeArg"),
    ("percent-encoded NUL and 0xFF in name",
     http("GET", "/v1/models/a%00%FF"), 404, True, f"{UTIL} DecodeArg"),
    ("malformed percent escape", http("GET", "/v1/models/%zz"), 400, True,
     f"{EVHTTP_REQUEST} ParsedEvRequest::decode: evhttp_uri_parse fails"),
    ("raw byte 0xFF in path", http("GET", "/v1/models/\xff"), 400, True,
     f"{EVHTTP_REQUEST} decode: evhttp_uri_parse fails"),
    ("raw space in path", http("GET", "/v1/models/a b"), 400, True,
     f"{LIBEVENT} parses the target up to the last space; {EVHTTP_REQUEST} "
     "decode then fails"),
    ("raw brace in path", http("GET", "/v1/models/{x}"), 400, True,
     f"{EVHTTP_REQUEST} decode: evhttp_uri_parse fails"),
    ("query string on status", http("GET", f"{M}?x=1"), 404, True,
     f"{EVHTTP_REQUEST} uri_path() keeps '?x=1': model 'reviews?x=1'"),
    ("query string on predict", post(f"{M}:predict?x=1", TEXT), 400, True,
     f"{EVHTTP_REQUEST} uri_path() keeps the query: Malformed request"),
    ("fragment on predict", post(f"{M}:predict#f", TEXT), 400, True,
     f"{EVHTTP_REQUEST} uri_path() keeps '#f': Malformed request"),
    ("authority-form //v1/...", http("GET", f"//v1/models/{MODEL}"), 404,
     True, f"{LIBEVENT} evhttp_uri_parse: '//v1' is an authority"),
    ("absolute-form target", http("GET", f"http://127.0.0.1{M}"), 200, False,
     f"{LIBEVENT} evhttp_uri_parse keeps the path"),
    # --- methods (evhttp_server.cc allows GET POST HEAD PUT DELETE OPTIONS
    # PATCH; the handler accepts only GET and POST)
    ("PUT", http("PUT", M, "{}"), 400, True,
     f"{HANDLER} ProcessRequest: Malformed request"),
    ("DELETE", http("DELETE", M), 400, True,
     f"{HANDLER} ProcessRequest: Malformed request"),
    ("PATCH", http("PATCH", f"{M}:predict", "{}"), 400, True,
     f"{HANDLER} ProcessRequest: Malformed request"),
    ("HEAD", http("HEAD", M), 400, False,
     f"{HANDLER} Malformed request; libevent sends no body for HEAD"),
    ("OPTIONS without Origin", http("OPTIONS", M), 400, True,
     f"{HTTP_SERVER} ProcessRequest: FAILED_PRECONDITION 'Origin header is "
     "missing in CORS preflight' (TF Serving's body is empty)"),
    ("OPTIONS with Origin", http("OPTIONS", M,
                                 headers=[("Origin", "http://example.com")]),
     200, False, f"{HTTP_SERVER} ProcessRequest: OK, empty body"),
    ("TRACE", http("TRACE", M), 501, True,
     f"{LIBEVENT} evhttp_handle_request: method not allowed, 501"),
    ("unknown method", http("BREW", M), 501, True,
     f"{LIBEVENT} evhttp_parse_request_line: unknown method, then 501"),
    ("lower-case get", http("get", M), 501, True,
     f"{LIBEVENT} evhttp_parse_request_line: methods are case-sensitive"),
    # --- request line and headers
    ("HTTP/2.0 request line", http("GET", M, version="HTTP/2.0"), 400, True,
     f"{LIBEVENT} evhttp_parse_http_version: major > 1"),
    ("request line without version", b"GET /v1/models/reviews\r\n\r\n", 400,
     True, f"{LIBEVENT} evhttp_parse_request_line"),
    ("garbage request line", b"\x00\x01\x02 garbage \xff\r\n\r\n", 400, True,
     f"{LIBEVENT} evhttp_parse_http_version"),
    ("Content-Length not a number",
     post(f"{M}:predict", '{"instances": ["a"]}', length="abc"), 400, True,
     f"{LIBEVENT} evhttp_get_body_length: illegal content length"),
    ("Content-Length negative",
     post(f"{M}:predict", '{"instances": ["a"]}', length="-1"), 400, True,
     f"{LIBEVENT} evhttp_get_body_length: illegal content length"),
    ("Expect other than 100-continue",
     post(f"{M}:predict", TEXT, headers=[("Expect", "tea")]), 417, True,
     f"{LIBEVENT} evhttp_get_body: evhttp_have_expect OTHER"),
    ("chunked body", b"POST /v1/models/reviews:predict HTTP/1.1\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"ins\r\n"
     b"f\r\ntances\": [\"a\"]}\r\n0\r\n\r\n", 200, False,
     f"{LIBEVENT} evhttp_get_body: chunked"),
    ("chunk size not hex", b"POST /v1/models/reviews:predict HTTP/1.1\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400, True,
     f"{LIBEVENT} evhttp_handle_chunked_read: bad chunk size"),
    # --- classify and regress (json_tensor.cc
    # FillClassifyRegressRequestFromJson, AddValueToFeature)
    ("classify valid", post(f"{M}:classify", examples({"text": "good"})), 200,
     False, JSON_TENSOR),
    ("classify examples missing",
     post(f"{M}:classify", {"signature_name": "classify"}), 400, True,
     f"{JSON_TENSOR}: 'examples' is expected"),
    ("classify examples empty", post(f"{M}:classify", examples()), 400, True,
     f"{JSON_TENSOR}: 'examples' value is an empty array"),
    ("classify examples not a list",
     post(f"{M}:classify", {"examples": {"text": "a"}}), 400, True,
     f"{JSON_TENSOR}: Expecting 'examples' value to be an list/array"),
    ("classify example not an object", post(f"{M}:classify", examples("a")),
     400, True, f"{JSON_TENSOR} MakeExampleFromJsonObject"),
    ("classify feature null", post(f"{M}:classify", examples({"text": None})),
     400, True, f"{JSON_TENSOR} AddValueToFeature: kNullType"),
    ("classify feature nested list",
     post(f"{M}:classify", examples({"text": [["a"]]})), 400, True,
     f"{JSON_TENSOR} AddValueToFeature: kArrayType"),
    ("classify feature int then float",
     post(f"{M}:classify", examples({"text": "a", "n": [1, 2.5]})), 400, True,
     f"{JSON_TENSOR} AddValueToFeature: IncompatibleFeatureKindError"),
    ("classify feature uint64",
     post(f"{M}:classify", examples({"text": "a", "n": 2 ** 63})), 400, True,
     f"{JSON_TENSOR} AddValueToFeature: 'Only int64_t is supported'"),
    ("classify feature object not b64",
     post(f"{M}:classify", examples({"text": {"x": 1}})), 400, True,
     f"{JSON_TENSOR} AddValueToFeature: kObjectType"),
    ("classify context not an object",
     post(f"{M}:classify", examples({"text": "a"}, context=[1])), 400, True,
     f"{JSON_TENSOR} MakeExampleFromJsonObject"),
    ("classify context merged", post(f"{M}:classify",
                                     examples({}, context={"text": "a"})),
     200, False, f"{JSON_TENSOR}; {TF_UTIL} InputToSerializedExampleTensor"),
    ("classify unknown signature",
     post(f"{M}:classify", {"signature_name": "nope",
                            "examples": [{"text": "a"}]}), 400, True,
     f"{CLASSIFIER} GetClassificationSignatureDef: INVALID_ARGUMENT"),
    ("classify predict signature",
     post(f"{M}:classify", {"examples": [{"text": "a"}]}), 400, True,
     f"{CLASSIFIER} PreProcessClassification: INVALID_ARGUMENT"),
    ("classify unknown model, bad examples",
     post("/v1/models/nope:classify", examples()), 400, True,
     f"{HANDLER} ProcessClassifyRequest parses before Classify"),
    ("classify unknown model", post("/v1/models/nope:classify",
                                    examples({"text": "a"})), 404, True,
     f"{SERVER_CORE}: NOT_FOUND"),
    ("regress classification signature",
     post(f"{M}:regress", examples({"text": "a"})), 400, True,
     f"{REGRESSOR} GetRegressionSignatureDef/PreProcessRegression: "
     "INVALID_ARGUMENT"),
    ("regress unknown model", post("/v1/models/nope:regress",
                                   examples({"text": "a"})), 404, True,
     f"{SERVER_CORE}: NOT_FOUND"),
]

# Classes whose TF Serving answer the source does not settle, or where this
# server differs on purpose; each is described, none is asserted as TF's.
UNSETTLED = [
    ("'inputs': [] (an empty batch)", "model-dependent: the graph runs on a "
     "[0] tensor; this model answers 200 with empty outputs"),
    ("duplicate JSON keys", "RapidJSON keeps both and FindMember returns the "
     "first; this server's fast path (json.loads) keeps the last"),
    ("b64 without padding or with whitespace", "absl::Base64Unescape's "
     "leniency is not in the files read; padding-less input is accepted "
     "here, whitespace is refused"),
    ("Content-Length beyond 1 GiB", "TF Serving (libevent without a body "
     "limit) waits for the body; this server answers 413, libevent's status "
     "for a body over its configured limit"),
    ("request line over 64 KiB, more than 100 headers", "libevent has no "
     "limit by default; this server answers 414 / 431"),
    ("a body shorter than its Content-Length, client still connected",
     "both wait; libevent drops the connection after HTTP_READ_TIMEOUT "
     "(50 s) without an answer, as this server does"),
    ("JSON nested more than ~100k deep inside 'instances'", "TF Serving's "
     "GetDenseTensorShape and FillTensorProto recurse per level and may "
     "exhaust the stack; this server answers 400"),
]


# gRPC: (id, service, method, request builder, expected code name, source).
def grpc_cases():
    import tensorflow as tf
    from tensorflow.core.framework import tensor_pb2
    from tensorflow_serving.apis import classification_pb2
    from tensorflow_serving.apis import get_model_metadata_pb2
    from tensorflow_serving.apis import get_model_status_pb2
    from tensorflow_serving.apis import predict_pb2
    from tensorflow_serving.apis import regression_pb2

    def predict(name=MODEL, texts=("fine",), **spec):
        request = predict_pb2.PredictRequest()
        if name is not None:
            request.model_spec.name = name
        for key, value in spec.items():
            if key == "version":
                request.model_spec.version.value = value
            else:
                setattr(request.model_spec, key, value)
        if texts is not None:
            request.inputs["text"].CopyFrom(tf.make_tensor_proto(list(texts)))
        return request

    def with_tensor(**fields):
        request = predict(texts=None)
        request.inputs["text"].CopyFrom(tensor_pb2.TensorProto(**fields))
        return request

    def shape(*sizes):
        return {"dim": [{"size": size} for size in sizes]}

    def classify(name=MODEL, signature="classify", rows=({"text": b"a"},)):
        request = classification_pb2.ClassificationRequest()
        if name is not None:
            request.model_spec.name = name
            request.model_spec.signature_name = signature
        for row in rows:
            example = request.input.example_list.examples.add()
            for key, value in row.items():
                example.features.feature[key].bytes_list.value.append(value)
        return request

    def regress(name=MODEL, signature="classify"):
        request = regression_pb2.RegressionRequest()
        if name is not None:
            request.model_spec.name = name
            request.model_spec.signature_name = signature
        example = request.input.example_list.examples.add()
        example.features.feature["text"].bytes_list.value.append(b"a")
        return request

    def metadata(name=MODEL, fields=("signature_def",)):
        request = get_model_metadata_pb2.GetModelMetadataRequest()
        if name is not None:
            request.model_spec.name = name
        request.metadata_field.extend(fields)
        return request

    def status(name=MODEL, version=None):
        request = get_model_status_pb2.GetModelStatusRequest()
        if name is not None:
            request.model_spec.name = name
            if version is not None:
                request.model_spec.version.value = version
        return request

    extra = predict()
    extra.inputs["other"].CopyFrom(tf.make_tensor_proto([1.0]))
    unknown_output = predict()
    unknown_output.output_filter.append("nope")
    twice = predict()
    twice.output_filter.extend(["logits", "logits"])
    spec_no_name = predict(name=None)
    spec_no_name.model_spec.signature_name = "serving_default"
    return [
        ("predict valid", "Predict", predict(), "OK", PREDICT_UTIL),
        ("predict without model_spec", "Predict", predict(name=None),
         "INVALID_ARGUMENT", f"{PREDICT_IMPL}: 'Missing ModelSpec'"),
        ("predict model_spec without name", "Predict", spec_no_name,
         "INVALID_ARGUMENT", f"{SERVER_CORE} ServableRequestFromModelSpec: "
         "'ModelSpec has no name specified.'"),
        ("predict unknown model", "Predict", predict(name="nope"),
         "NOT_FOUND", SERVER_CORE),
        ("predict unknown version", "Predict", predict(version=9),
         "NOT_FOUND", SERVER_CORE),
        ("predict unknown label", "Predict", predict(version_label="x"),
         "INVALID_ARGUMENT", f"{SERVER_CORE} GetModelVersionForLabel"),
        ("predict unknown signature", "Predict",
         predict(signature_name="nope"), "FAILED_PRECONDITION",
         f"{PREDICT_UTIL} RunPredict"),
        ("predict missing input", "Predict", predict(texts=None),
         "INVALID_ARGUMENT", f"{PREDICT_UTIL} VerifyRequestInputsSize"),
        ("predict extra input", "Predict", extra, "INVALID_ARGUMENT",
         f"{PREDICT_UTIL} VerifyRequestInputsSize"),
        ("predict unknown output filter", "Predict", unknown_output,
         "INVALID_ARGUMENT", f"{PREDICT_UTIL} PreProcessPrediction"),
        ("predict duplicate output filter", "Predict", twice,
         "INVALID_ARGUMENT", f"{PREDICT_UTIL} PreProcessPrediction"),
        ("tensor dtype enum 999", "Predict",
         with_tensor(dtype=999, tensor_shape=shape(1), string_val=[b"a"]),
         "INVALID_ARGUMENT", f"{FROM_PROTO}: tensor parsing error"),
        ("tensor DT_INVALID", "Predict",
         with_tensor(dtype=0, tensor_shape=shape(1)),
         "INVALID_ARGUMENT", f"{FROM_PROTO}: tensor parsing error"),
        ("tensor negative dim", "Predict",
         with_tensor(dtype=7, tensor_shape=shape(-1), string_val=[b"a"]),
         "INVALID_ARGUMENT", f"{FROM_PROTO}: tensor parsing error"),
        ("tensor 2**40 elements", "Predict",
         with_tensor(dtype=7, tensor_shape=shape(1 << 40), string_val=[b"a"]),
         "INVALID_ARGUMENT", f"{FROM_PROTO}: refused (this server: more "
         "than 2**28 elements)"),
        ("tensor wrong dtype", "Predict",
         with_tensor(dtype=1, tensor_shape=shape(1), float_val=[1.0]),
         "INVALID_ARGUMENT", "TF Session::Run: dtype of the feed"),
        ("tensor float content of wrong size", "Predict",
         with_tensor(dtype=1, tensor_shape=shape(2), tensor_content=b"\0" * 4),
         "INVALID_ARGUMENT", f"{FROM_PROTO}: tensor parsing error"),
        ("tensor string content not encoded", "Predict",
         with_tensor(dtype=7, tensor_shape=shape(1),
                     tensor_content=b"\x09a"),
         "INVALID_ARGUMENT", f"{FROM_PROTO}: tensor parsing error"),
        ("tensor string content encoded", "Predict",
         with_tensor(dtype=7, tensor_shape=shape(1), tensor_content=b"\x01a"),
         "OK", FROM_PROTO),
        ("tensor invalid utf-8 strings", "Predict",
         with_tensor(dtype=7, tensor_shape=shape(2),
                     string_val=[b"\xff\xfe", b"\xed\xa0\x80"]),
         "INVALID_ARGUMENT", f"{FROM_PROTO}: strings are bytes; this "
         "model's tokenizer asserts UTF-8 in the graph"),
        ("tensor fewer strings than shape", "Predict",
         with_tensor(dtype=7, tensor_shape=shape(3), string_val=[b"a"]),
         "OK", f"{FROM_PROTO}: the last value repeats"),
        ("tensor more strings than shape", "Predict",
         with_tensor(dtype=7, tensor_shape=shape(1),
                     string_val=[b"a", b"b"]),
         "OK", f"{FROM_PROTO}: extra values are ignored"),
        ("tensor rank 2 for a [-1] input", "Predict",
         with_tensor(dtype=7, tensor_shape=shape(1, 1), string_val=[b"a"]),
         "INVALID_ARGUMENT", "TF: the signature's graph refuses the shape"),
        ("classify valid", "Classify", classify(), "OK", CLASSIFIER),
        ("classify without model_spec", "Classify", classify(name=None),
         "INVALID_ARGUMENT", "classification_service.cc: Missing ModelSpec"),
        ("classify no examples", "Classify", classify(rows=()),
         "INVALID_ARGUMENT", f"{TF_UTIL} InputToSerializedExampleTensor: "
         "'Input is empty.'"),
        ("classify unknown signature", "Classify",
         classify(signature="nope"), "INVALID_ARGUMENT",
         f"{CLASSIFIER} GetClassificationSignatureDef"),
        ("classify predict signature", "Classify",
         classify(signature="serving_default"), "INVALID_ARGUMENT",
         f"{CLASSIFIER} PreProcessClassification"),
        ("classify unknown model", "Classify", classify(name="nope"),
         "NOT_FOUND", SERVER_CORE),
        ("regress without model_spec", "Regress", regress(name=None),
         "INVALID_ARGUMENT", "regression_service.cc: Missing ModelSpec"),
        ("regress classification signature", "Regress", regress(),
         "INVALID_ARGUMENT", f"{REGRESSOR} GetRegressionSignatureDef"),
        ("regress unknown model", "Regress", regress(name="nope"),
         "NOT_FOUND", SERVER_CORE),
        ("metadata valid", "GetModelMetadata", metadata(), "OK", METADATA),
        ("metadata without model_spec", "GetModelMetadata",
         metadata(name=None), "INVALID_ARGUMENT", f"{METADATA}: checked "
         "before the fields"),
        ("metadata without fields", "GetModelMetadata", metadata(fields=()),
         "INVALID_ARGUMENT", f"{METADATA} ValidateGetModelMetadataRequest"),
        ("metadata unknown field", "GetModelMetadata",
         metadata(fields=("nope",)), "INVALID_ARGUMENT",
         f"{METADATA} ValidateGetModelMetadataRequest"),
        ("metadata unknown model", "GetModelMetadata", metadata(name="nope"),
         "NOT_FOUND", SERVER_CORE),
        ("metadata empty name", "GetModelMetadata", metadata(name=""),
         "INVALID_ARGUMENT", f"{SERVER_CORE} ServableRequestFromModelSpec"),
        ("status valid", "GetModelStatus", status(), "OK", STATUS),
        ("status without model_spec", "GetModelStatus", status(name=None),
         "INVALID_ARGUMENT", f"{STATUS}: 'Missing ModelSpec'"),
        ("status unknown model", "GetModelStatus", status(name="nope"),
         "NOT_FOUND", STATUS),
        ("status unknown version", "GetModelStatus", status(version=9),
         "NOT_FOUND", STATUS),
        ("status version int64 max", "GetModelStatus",
         status(version=(1 << 63) - 1), "NOT_FOUND", STATUS),
    ]


def read_responses(sock, count, timeout, head=False):
    """Up to `count` (status, headers, body) answers from `sock`; fewer if
    the server closes the connection first. TimeoutError after `timeout`
    seconds without the answers or the close."""
    deadline = time.monotonic() + timeout
    data = b""
    answers = []

    def fill():
        nonlocal data
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete answer within {timeout} s; "
                               f"got {data[:200]!r}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise TimeoutError(f"no complete answer within {timeout} s; "
                               f"got {data[:200]!r}") from None
        except ConnectionResetError:
            chunk = b""
        data += chunk
        return bool(chunk)

    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            if not fill():
                return answers
        head_bytes, data = data.split(b"\r\n\r\n", 1)
        lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status == 100:
            continue
        length = 0 if head else int(headers.get("content-length", 0))
        while len(data) < length:
            if not fill():
                raise AssertionError(f"answer body cut short: {data!r}")
        body, data = data[:length], data[length:]
        answers.append((status, headers, body))
    return answers


def exchange(port, request, timeout=60, count=1, head=False):
    """Sends raw `request` bytes; the answers (see read_responses)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as (
        sock
    ):
        sock.sendall(request)
        return read_responses(sock, count, timeout, head=head)
