"""OpenAI-shaped errors: one table from error type to HTTP status, and the JSON body."""

from __future__ import annotations

import json

from starlette.responses import JSONResponse

from mlxk_core.errors import (
    AmbiguousModel,
    BackendUnavailable,
    InvalidRequest,
    MlxkError,
    ModelNotFound,
    UnhealthyModel,
    UnsafePath,
)

__all__ = ["ApiError", "ModelNotServed", "QueueFull", "error_body", "error_response", "from_mlxk"]


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


class QueueFull(ApiError):
    """Too many requests are waiting: try again shortly."""

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__(
            429,
            "The server is busy: too many requests are queued; retry shortly",
            type="rate_limit_error",
            code="queue_full",
            headers={"Retry-After": str(retry_after)},
        )


# The first matching class wins; order subclasses before their bases.
_STATUS: tuple[tuple[type[MlxkError], int, str], ...] = (
    (ModelNotFound, 404, "invalid_request_error"),
    (UnsafePath, 404, "invalid_request_error"),
    (AmbiguousModel, 400, "invalid_request_error"),
    (InvalidRequest, 400, "invalid_request_error"),
    (UnhealthyModel, 500, "server_error"),
    (BackendUnavailable, 503, "server_error"),
)


def from_mlxk(exc: MlxkError) -> ApiError:
    """Map a core error to the HTTP error a client sees."""
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
