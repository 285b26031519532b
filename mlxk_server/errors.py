"""Errors: one table from error type to HTTP status, and the JSON body in each protocol's shape.

OpenAI's shape is the default; ``error_response_for`` picks Anthropic's or Ollama's by path.
"""

from __future__ import annotations

import json

from starlette.responses import JSONResponse

from mlxk_core import (
    AmbiguousModel,
    BackendUnavailable,
    EngineBusy,
    EngineStopped,
    GroupBroken,
    InvalidRequest,
    MlxkError,
    ModelNotFound,
    UnhealthyModel,
    UnsafePath,
)

__all__ = [
    "ApiError",
    "ModelNotServed",
    "error_body",
    "error_body_for",
    "error_response",
    "error_response_for",
    "from_mlxk",
]


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


class ModelNotServed(ModelNotFound):
    """A model outside the server's allow-list (``--models`` / ``MLXK_MODELS``), cached or not."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.message = (
            f"Model '{name}' is not served here: this server serves only the models of its "
            "--models list (see GET /v1/models)"
        )
        self.args = (self.message,)


# The first matching class wins; order subclasses before their bases.
_STATUS: tuple[tuple[type[MlxkError], int, str], ...] = (
    (ModelNotFound, 404, "invalid_request_error"),
    (UnsafePath, 404, "invalid_request_error"),
    (AmbiguousModel, 400, "invalid_request_error"),
    (InvalidRequest, 400, "invalid_request_error"),
    (UnhealthyModel, 500, "server_error"),
    (BackendUnavailable, 503, "server_error"),
    (GroupBroken, 503, "server_error"),
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


# Anthropic names its error types by status (https://docs.anthropic.com/en/api/errors)
_ANTHROPIC_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    503: "overloaded_error", 529: "overloaded_error",
}


def error_body_for(path: str, err: ApiError) -> dict[str, object]:
    """The error document in the shape of the protocol that ``path`` belongs to.

    ``/v1/messages...``: Anthropic's ``{"type": "error", "error": {"type", "message"}}``;
    ``/api/...``: Ollama's ``{"error": message}``; anything else: OpenAI's (``error_body``).
    """
    if path == "/v1/messages" or path.startswith("/v1/messages/"):
        kind = _ANTHROPIC_TYPES.get(
            err.status, "api_error" if err.status >= 500 else "invalid_request_error"
        )
        return {"type": "error", "error": {"type": kind, "message": err.message}}
    if path == "/api" or path.startswith("/api/"):
        return {"error": err.message}
    return error_body(err)


def error_response_for(path: str, err: ApiError) -> JSONResponse:
    """``err`` as a JSON response in the shape of the protocol that ``path`` belongs to."""
    return _AsciiJSON(error_body_for(path, err), status_code=err.status, headers=err.headers)
