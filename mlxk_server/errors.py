"""OpenAI-shaped errors: one table from error type to HTTP status, and the JSON body."""

from __future__ import annotations

import json

from starlette.responses import JSONResponse

from mlxk_core import (
    AmbiguousModel,
    BackendUnavailable,
    EngineBusy,
    EngineStopped,
    InvalidRequest,
    MlxkError,
    ModelNotFound,
    UnhealthyModel,
    UnsafePath,
)

__all__ = ["ApiError", "error_body", "error_response", "from_mlxk"]


class ApiError(Exception):
    """An error that the server answers with a given status in the OpenAI shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}


# The first matching class wins; order subclasses before their bases.
_STATUS: tuple[tuple[type[MlxkError], int, str], ...] = (
    (ModelNotFound, 404, "invalid_request_error"),
    (UnsafePath, 404, "invalid_request_error"),
    (AmbiguousModel, 404, "invalid_request_error"),
    (InvalidRequest, 400, "invalid_request_error"),
    (UnhealthyModel, 500, "server_error"),
    (BackendUnavailable, 503, "server_error"),
)


def from_mlxk(exc: MlxkError) -> ApiError:
    """Map a core error to the HTTP error a client sees."""
    if isinstance(exc, EngineBusy):
        return ApiError(429, "The server is busy: too many requests are queued; retry shortly",
                        type="rate_limit_error", code=exc.code, headers={"Retry-After": "1"})
    if isinstance(exc, EngineStopped):
        return ApiError(503, "The server is shutting down", type="server_error", code=exc.code,
                        headers={"Retry-After": "5"})
    status, kind = 500, "server_error"
    for cls, code, name in _STATUS:
        if isinstance(exc, cls):
            status, kind = code, name
            break
    message = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
    if isinstance(exc, (ModelNotFound, UnsafePath)):
        message = exc.message
    param = getattr(exc, "param", None)
    if isinstance(exc, (ModelNotFound, UnsafePath, AmbiguousModel)):
        param = "model"
    return ApiError(status, message, type=kind, param=param, code=exc.code)


def error_body(err: ApiError) -> dict[str, object]:
    """The ``{"error": {...}}`` document of an error."""
    return {
        "error": {"message": err.message, "type": err.type, "param": err.param, "code": err.code}
    }


class _AsciiJSON(JSONResponse):
    """JSON escaped to ASCII: messages may quote client input (lone surrogates included)."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


def error_response(err: ApiError) -> JSONResponse:
    """An error as a JSON response with its status and headers."""
    return _AsciiJSON(error_body(err), status_code=err.status, headers=err.headers)
