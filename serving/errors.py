"""TF Serving's error: a canonical status code and a message.

The server raises `ServingError` and turns it into a gRPC status or an
HTTP status with `{"error": message}`, mapping codes to HTTP statuses the
way `tensorflow_model_server` does; the client raises it back to users.

>>> error = ServingError(grpc.StatusCode.NOT_FOUND, "no model m")
>>> error.http_status, str(error)
(404, 'NOT_FOUND: no model m')
>>> ServingError.from_http(400, "bad").code
<StatusCode.INVALID_ARGUMENT: (3, 'invalid argument')>
"""

import grpc

_HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}

# HTTP hides the code; several codes share one status, so take the most
# common one (400 is INVALID_ARGUMENT, FAILED_PRECONDITION or OUT_OF_RANGE).
_CODE_FOR_HTTP = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    499: grpc.StatusCode.CANCELLED,
    500: grpc.StatusCode.INTERNAL,
    501: grpc.StatusCode.UNIMPLEMENTED,
    502: grpc.StatusCode.UNAVAILABLE,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}

# tensorflow.error.Code numbers, as used in GetModelStatus' StatusProto.
CODE_NUMBER = {code: code.value[0] for code in grpc.StatusCode}


class ServingError(Exception):
    """An error with TF Serving's status `code` (a `grpc.StatusCode`)."""

    def __init__(self, code, message):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message

    @property
    def http_status(self):
        return _HTTP_STATUS.get(self.code, 500)

    @classmethod
    def from_http(cls, http_status, message):
        code = _CODE_FOR_HTTP.get(http_status, grpc.StatusCode.UNKNOWN)
        return cls(code, message)


def invalid_argument(message):
    return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message):
    return ServingError(grpc.StatusCode.NOT_FOUND, message)


def failed_precondition(message):
    return ServingError(grpc.StatusCode.FAILED_PRECONDITION, message)
