"""What every handler shares: the lifespan state, the JSON body (size-limited, validated), and
waiting on work that a client's disconnect cancels."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from mlxk_server.errors import ApiError

__all__ = ["app_state", "parse_body", "read_json", "until_disconnect"]

T = TypeVar("T")
W = TypeVar("W", bound=BaseModel)


def app_state(request: Request) -> Any:
    """The state the lifespan created (settings, catalog, engine, problems)."""
    return request.app.state.mlxk


async def read_json(request: Request, limit: int) -> Any:
    """The request body parsed as JSON: 413 past ``limit`` bytes, 400 when it is not JSON."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"Request body is larger than {limit} bytes", code="body_too_large")
    data = bytearray()
    async for part in request.stream():
        data += part
        if len(data) > limit:
            raise ApiError(413, f"Request body is larger than {limit} bytes",
                           code="body_too_large")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise ApiError(400, "The request body is not valid JSON", code="invalid_json") from None


def parse_body(model: type[W], data: Any) -> W:
    """``data`` validated as ``model``; a 400 naming the first bad field otherwise."""
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise ApiError(400, f"Invalid '{param}': {first['msg']}", param=param) from None


async def until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``, cancelling it when the client goes away first."""
    task = asyncio.ensure_future(work)

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(watch())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        raise asyncio.CancelledError
    return task.result()
