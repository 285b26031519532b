"""Refusals made before any work: foreign Host names on loopback, and bodies that are not JSON.

Web pages reach a server on 127.0.0.1 from the user's browser. Two defences, as pure ASGI
middleware (streams pass through untouched), each answering in the error shape of the path:

- ``HostCheck``: while the server listens on loopback, a page that made its own name resolve
  to 127.0.0.1 (DNS rebinding) is same-origin with the server; its requests carry that name in
  ``Host``, so only loopback names (and ``--allowed-hosts``) are served, anything else is 403.
  Starlette's ``TrustedHostMiddleware`` does not fit: it answers a plain-text 400 and splits
  ``[::1]:8000`` at the first colon.
- ``JsonBodyOnly``: browsers send a cross-site POST without asking first (no CORS preflight)
  only with a form, ``text/plain`` or no content type, so every request that carries a body
  must declare ``application/json`` (parameters such as ``charset`` allowed), else 415.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from mlxk_server.errors import ApiError, error_response_for

__all__ = ["HostCheck", "JsonBodyOnly", "host_name", "is_loopback"]

_DIGITS = frozenset("0123456789")
_NAME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a bind address or a normalised Host name) names the loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(value: str | bytes) -> str | None:
    """The name in a Host value: lowercase, no port, no brackets; None when malformed.

    Names are letters, digits, ``-``, ``.`` and ``_``, or a bracketed IPv6 literal.

    One trailing dot is dropped (``localhost.`` is the same DNS name as ``localhost``, and
    ``evil.example.`` as ``evil.example``); IPv6 literals are written canonically.
    """
    if isinstance(value, str):
        value = value.encode("latin-1", "replace")
    try:
        text = value.decode("ascii").strip().lower()  # only ASCII letters change case
    except UnicodeDecodeError:
        return None
    if text.startswith("["):
        literal, bracket, port = text[1:].partition("]")
        try:
            name = str(ipaddress.IPv6Address(literal)) if bracket else ""
        except ValueError:
            return None
    else:
        name, colon, port = text.partition(":")
        if not set(name) <= _NAME:
            return None
        port = colon + port
    if port and not (port[0] == ":" and set(port[1:]) <= _DIGITS):
        return None
    name = name[:-1] if name.endswith(".") else name
    return name or None


def _header(scope: Scope, key: bytes) -> list[bytes]:
    return [value for name, value in scope.get("headers", ()) if name == key]


async def _refuse(scope: Scope, receive: Receive, send: Send, err: ApiError) -> None:
    if scope["type"] == "websocket":  # before accept, a close is the server's 403
        await send({"type": "websocket.close", "code": 1008})
        return
    await error_response_for(scope.get("path", "/"), err)(scope, receive, send)


class HostCheck:
    """Serves only loopback ``Host`` names (and ``allowed``) while ``bind`` is a loopback address.

    On any other bind address every Host is served, and ``*`` in ``allowed`` turns it off.
    """

    def __init__(self, app: ASGIApp, bind: str, allowed: Iterable[str] = ()) -> None:
        self.app = app
        allowed = tuple(allowed)
        self._open = not is_loopback(bind) or "*" in allowed
        self._names = {name for name in map(host_name, allowed) if name}

    def admits(self, value: bytes) -> bool:
        """Whether a request with this Host value is served."""
        name = host_name(value)
        return name is not None and (is_loopback(name) or name in self._names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, or answer 403 before the app sees the request."""
        if self._open or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        hosts = _header(scope, b"host")
        if len(hosts) == 1 and self.admits(hosts[0]):
            await self.app(scope, receive, send)
            return
        shown = hosts[0].decode("latin-1")[:100] if hosts else ""
        await _refuse(scope, receive, send, ApiError(
            403, f"Host '{shown}' is not allowed: this server listens on loopback and answers "
            "only localhost, 127.0.0.1 and [::1]; add other names with --allowed-hosts "
            "(MLXK_ALLOWED_HOSTS)", type="permission_error", code="host_not_allowed",
        ))


def _has_body(scope: Scope) -> bool:
    if _header(scope, b"transfer-encoding"):
        return True
    return any(value.strip() not in (b"", b"0") for value in _header(scope, b"content-length"))


class JsonBodyOnly:
    """Answers 415 to any request that carries a body not declared ``application/json``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, or answer 415 before the body is read."""
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        types = _header(scope, b"content-type")
        if len(types) == 1 and types[0].split(b";")[0].strip().lower() == b"application/json":
            await self.app(scope, receive, send)
            return
        shown = f"'{types[0].decode('latin-1')[:100]}'" if types else "none"
        await _refuse(scope, receive, send, ApiError(
            415, "The request body must be JSON sent with 'Content-Type: application/json' "
            f"(got {shown})", code="unsupported_media_type",
        ))
