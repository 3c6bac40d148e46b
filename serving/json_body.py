"""REST request bodies parsed as TF Serving parses them.

`tensorflow_model_server` parses bodies with RapidJSON 1.1.0
(`tensorflow_serving/util/json_tensor.cc`, `ParseJson`) using
`kParseIterativeFlag | kParseNanAndInfFlag | kParseStopWhenDoneFlag` on an
`EncodedInputStream<UTF8<>, MemoryStream>`. So, unlike `json.loads`:

- nesting depth is unlimited (the parser is iterative; no RecursionError);
- `NaN`, `Inf`, `Infinity`, `-Inf`, `-Infinity` are numbers;
- anything after the first complete value is ignored;
- a leading UTF-8 byte-order mark is skipped (each of EF, BB, BF in turn);
- bytes inside strings are not checked to be UTF-8, and an escaped low
  surrogate on its own (`\\udc00`) is kept (encoded as three bytes); an
  escaped high surrogate not followed by an escaped low one is an error;
- a number too big for a double is an error; integers beyond the int64 /
  uint64 range become doubles.

`parse(body)` returns Python values: strings are `str` whose non-UTF-8 bytes
are surrogate escapes, so `text.encode("utf-8", "surrogateescape")` gives
back the exact bytes TF Serving would hand to the model. Errors are
INVALID_ARGUMENT "JSON Parse error: ... at offset: N", as in TF Serving.
Ordinary bodies take `json`'s C parser; only bodies it cannot parse the same
way go through the iterative parser here.

>>> parse(b'\\xef\\xbb\\xbf{"a": [1, 2.5, Inf]} trailing')
{'a': [1, 2.5, inf]}
>>> parse(b'{"s": "\\xff"}')["s"].encode("utf-8", "surrogateescape")
b'\\xff'
>>> value, depth = parse(b"[" * 100000 + b"]" * 100000), 1
>>> while value:
...     value, depth = value[0], depth + 1
>>> depth
100000
"""

import json
import math
import re

from serving.errors import invalid_argument

_DECODER = json.JSONDecoder()
# Bodies json's parser would read differently from RapidJSON: surrogate
# escapes, and numbers that may not fit a double (long digit runs, 3-digit
# exponents).
_RISKY = re.compile(rb"\\u[dD][89a-fA-F]|[0-9]{300}|[eE][+-]?[0-9]{3}")
_WHITESPACE = re.compile(rb"[ \t\n\r]*")
_NUMBER = re.compile(
    rb"-?(?:(?P<int>0|[1-9][0-9]*)(?P<frac>\.[0-9]*)?(?P<exp>[eE][+-]?[0-9]*)?"
    rb"|(?P<nan>NaN)|(?P<inf>Inf(?:inity)?))"
)
_PLAIN_STRING = re.compile(rb'[^"\\\x00-\x1f]*')
_ESCAPES = {
    ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b",
    ord("f"): b"\f", ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t",
}
_HEX4 = re.compile(rb"[0-9a-fA-F]{4}")
INT64_MIN, UINT64_END = -(1 << 63), 1 << 64


class _ParseError(Exception):
    def __init__(self, message, offset):
        super().__init__(message)
        self.message = message
        self.offset = offset


def parse(body):
    """The JSON value of a request body; INVALID_ARGUMENT if it is not JSON."""
    if not body:
        raise invalid_argument("JSON Parse error: The document is empty")
    start = 0
    for mark in (0xEF, 0xBB, 0xBF):
        if start < len(body) and body[start] == mark:
            start += 1
    if not _RISKY.search(body, start):
        try:
            text = body[start:].decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            index = len(text) - len(text.lstrip(" \t\n\r"))
            try:
                return _DECODER.raw_decode(text, index)[0]
            except (ValueError, RecursionError):
                pass  # RapidJSON's answer may differ: ask the parser below.
    try:
        return _Parser(body, start).parse()
    except _ParseError as error:
        raise invalid_argument(
            f"JSON Parse error: {error.message} at offset: {error.offset}"
        ) from None


def json_type(value):
    """RapidJSON's name for the type of a parsed value (JsonTypeString)."""
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def debug_string(value, limit=100):
    """A short single-line JSON rendering of `value` for error messages."""
    try:
        text = json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        text = f"<{json_type(value)}>"
    return text if len(text) <= limit else text[:limit] + "..."


class _Parser:
    """An iterative parser with RapidJSON 1.1.0's grammar and limits."""

    def __init__(self, data, start):
        self.data = data
        self.pos = start

    def _skip(self):
        self.pos = _WHITESPACE.match(self.data, self.pos).end()

    def _peek(self):
        return self.data[self.pos] if self.pos < len(self.data) else None

    def parse(self):
        self._skip()
        if self._peek() is None:
            raise _ParseError("The document is empty.", self.pos)
        # Each frame: [container, key awaiting a value (objects)].
        stack = []
        while True:
            self._skip()
            value = self._value_or_open(stack)
            while value is not _OPENED:
                if not stack:
                    return value  # kParseStopWhenDoneFlag: ignore the rest.
                frame = stack[-1]
                if isinstance(frame[0], list):
                    frame[0].append(value)
                else:
                    frame[0].setdefault(frame[1], value)  # first key wins
                self._skip()
                char = self._peek()
                closing = ord("]") if isinstance(frame[0], list) else ord("}")
                if char == ord(","):
                    self.pos += 1
                    if isinstance(frame[0], dict):
                        frame[1] = self._key()
                    break
                if char == closing:
                    self.pos += 1
                    value = stack.pop()[0]
                    continue
                raise _ParseError(
                    "Missing a comma or ']' after an array element."
                    if closing == ord("]") else
                    "Missing a comma or '}' after an object member.",
                    self.pos,
                )

    def _value_or_open(self, stack):
        """A scalar value, a closed empty container, or _OPENED after
        pushing a new container (with its first key read)."""
        char = self._peek()
        if char == ord("["):
            self.pos += 1
            self._skip()
            if self._peek() == ord("]"):
                self.pos += 1
                return []
            stack.append([[], None])
            return _OPENED
        if char == ord("{"):
            self.pos += 1
            self._skip()
            if self._peek() == ord("}"):
                self.pos += 1
                return {}
            stack.append([{}, None])
            stack[-1][1] = self._key()
            return _OPENED
        if char == ord('"'):
            return self._string()
        for word, value in ((b"true", True), (b"false", False),
                            (b"null", None)):
            if self.data.startswith(word, self.pos):
                self.pos += len(word)
                return value
        return self._number()

    def _key(self):
        self._skip()
        if self._peek() != ord('"'):
            raise _ParseError("Missing a name for object member.", self.pos)
        key = self._string()
        self._skip()
        if self._peek() != ord(":"):
            raise _ParseError(
                "Missing a colon after a name of object member.", self.pos
            )
        self.pos += 1
        return key

    def _string(self):
        data = self.data
        self.pos += 1
        parts = []
        while True:
            end = _PLAIN_STRING.match(data, self.pos).end()
            parts.append(data[self.pos:end])
            self.pos = end
            if end >= len(data):
                raise _ParseError(
                    "Missing a closing quotation mark in string.", end
                )
            char = data[end]
            if char == ord('"'):
                self.pos += 1
                return b"".join(parts).decode("utf-8", "surrogateescape")
            if char < 0x20:
                raise _ParseError(
                    "Missing a closing quotation mark in string."
                    if char == 0 else "Invalid escape character in string.",
                    end,
                )
            # A backslash.
            escape = data[end + 1] if end + 1 < len(data) else None
            if escape in _ESCAPES:
                parts.append(_ESCAPES[escape])
                self.pos = end + 2
                continue
            if escape != ord("u"):
                raise _ParseError("Invalid escape character in string.", end)
            codepoint = self._hex4(end + 2, end)
            self.pos = end + 6
            if 0xD800 <= codepoint <= 0xDBFF:
                if not data.startswith(b"\\u", self.pos):
                    raise _ParseError(
                        "The surrogate pair in string is invalid.", end
                    )
                low = self._hex4(self.pos + 2, end)
                if not 0xDC00 <= low <= 0xDFFF:
                    raise _ParseError(
                        "The surrogate pair in string is invalid.", end
                    )
                self.pos += 6
                codepoint = 0x10000 + ((codepoint - 0xD800) << 10) + (
                    low - 0xDC00
                )
            parts.append(_utf8(codepoint))

    def _hex4(self, at, escape_offset):
        match = _HEX4.match(self.data, at)
        if not match:
            raise _ParseError(
                "Incorrect hex digit after \\u escape in string.",
                escape_offset,
            )
        return int(match.group(), 16)

    def _number(self):
        start = self.pos
        match = _NUMBER.match(self.data, start)
        if not match:
            raise _ParseError("Invalid value.", start)
        self.pos = match.end()
        if match["nan"]:
            return math.nan
        if match["inf"]:
            if self._peek() == ord("i"):
                raise _ParseError("Invalid value.", self.pos)
            return -math.inf if self.data[start] == ord("-") else math.inf
        if match["frac"] == b".":
            raise _ParseError("Miss fraction part in number.", self.pos)
        if match["exp"] is not None and not match["exp"].lstrip(
            b"eE+-"
        ):
            raise _ParseError("Miss exponent in number.", self.pos)
        text = match.group()
        if match["frac"] is None and match["exp"] is None:
            number = int(text)
            if INT64_MIN <= number < UINT64_END:
                return number
        value = float(text)
        if math.isinf(value):
            raise _ParseError("Number too big to be stored in double.", start)
        return value


_OPENED = object()


def _utf8(codepoint):
    """UTF-8 bytes of a code point, surrogates included (as RapidJSON)."""
    if codepoint < 0x80:
        return bytes([codepoint])
    if codepoint < 0x800:
        return bytes([0xC0 | codepoint >> 6, 0x80 | codepoint & 0x3F])
    if codepoint < 0x10000:
        return bytes([0xE0 | codepoint >> 12, 0x80 | codepoint >> 6 & 0x3F,
                      0x80 | codepoint & 0x3F])
    return bytes([0xF0 | codepoint >> 18, 0x80 | codepoint >> 12 & 0x3F,
                  0x80 | codepoint >> 6 & 0x3F, 0x80 | codepoint & 0x3F])
