"""What every protocol's handlers share: the state, JSON bodies, disconnects, a started job."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from mlxk_core import Chunk, GenerationRequest, ResolvedModel, Started
from mlxk_server.errors import ApiError
from mlxk_server.jobs import Job
from mlxk_server.problems import SERVER_SIDE, Problems

__all__ = [
    "Generation",
    "app_state",
    "generate",
    "parse",
    "read_body",
    "read_json",
    "sse_response",
    "until_disconnect",
]

T = TypeVar("T")
W = TypeVar("W", bound=BaseModel)


def app_state(request: Request) -> Any:
    """The app's lifespan state (``mlxk_server.app.State``)."""
    return request.app.state.mlxk


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON; 413 past ``limit`` bytes, 400 when it does not parse."""
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


def parse(model: type[W], data: Any) -> W:
    """``data`` validated as ``model``; 400 naming the first invalid field."""
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise ApiError(400, f"Invalid '{param}': {first['msg']}", param=param) from None


async def read_body(request: Request, model: type[W]) -> W:
    """The request's JSON body validated as ``model`` (within the server's body limit)."""
    return parse(model, await read_json(request, app_state(request).settings.max_body_bytes))


def sse_response(events: AsyncIterator[bytes]) -> StreamingResponse:
    """A server-sent event stream, unbuffered by proxies."""
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


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


@dataclass
class Generation:
    """A request running in the engine: its model, how it started, and its chunks."""

    job: Job
    model: ResolvedModel
    name: str
    started: Started
    problems: Problems

    def chunks(self) -> AsyncIterator[Chunk]:
        """The chunks as they come (a server-side failure is recorded against the model)."""
        return self.problems.watch(self.name, self.job.chunks())

    async def all_chunks(self, request: Request) -> list[Chunk]:
        """Every chunk, for a whole (non-streamed) answer; a disconnect cancels."""

        async def read() -> list[Chunk]:
            return [chunk async for chunk in self.chunks()]

        try:
            return await until_disconnect(request, read())
        finally:
            self.job.cancel()


async def generate(
    request: Request, core: GenerationRequest, name: str, model: ResolvedModel | None = None
) -> Generation:
    """Resolve ``name`` (unless ``model`` is given), submit ``core`` and wait for its start."""
    state = app_state(request)
    problems: Problems = state.problems
    try:
        resolved: ResolvedModel = (
            await run_in_threadpool(state.catalog.resolve, name) if model is None else model
        )
        job = Job(state.engine, resolved, core)
        started = await until_disconnect(request, job.started())
    except SERVER_SIDE as exc:
        problems.record(getattr(exc, "name", None) or name, exc)
        raise
    served = resolved.repo_id or name
    problems.clear(served)
    return Generation(job, resolved, served, started, problems)
