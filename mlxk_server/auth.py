"""API key check as a pure ASGI middleware (streams pass through untouched)."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from mlxk_server.errors import ApiError, error_response_for

__all__ = ["ApiKeyMiddleware", "has_key"]

# /health answers without the key, but then only with liveness (see routes.health)
_OPEN_PATHS = frozenset({"/health"})


def _presented_key(scope: Scope) -> bytes:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" else b""
        if name == b"x-api-key":
            return bytes(value).strip()
    return b""


def has_key(scope: Scope, api_key: str) -> bool:
    """Whether the request presents ``api_key`` (as a bearer token or in ``X-Api-Key``)."""
    # compare_digest takes time independent of where the keys differ
    return hmac.compare_digest(_presented_key(scope), api_key.encode())


class ApiKeyMiddleware:
    """Refuses every request but ``/health`` (and CORS preflights) without the right key."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self._key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through or answer 401."""
        if (
            scope["type"] != "http"
            or scope.get("path") in _OPEN_PATHS
            or scope.get("method") == "OPTIONS"
            or has_key(scope, self._key)
        ):
            await self.app(scope, receive, send)
            return
        err = ApiError(
            401, "Missing or invalid API key: send it as 'Authorization: Bearer <key>' or "
            "'X-Api-Key: <key>'",
            type="authentication_error", code="invalid_api_key",
        )
        await error_response_for(scope.get("path", "/"), err)(scope, receive, send)
