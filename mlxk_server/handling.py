"""What the protocol handlers share beyond :mod:`mlxk_server.bodies`: a started job, SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from mlxk_core import Chunk, GenerationRequest, ResolvedModel, Started
from mlxk_server.bodies import app_state, parse_body, read_json, until_disconnect
from mlxk_server.jobs import Job
from mlxk_server.problems import SERVER_SIDE, Problems

__all__ = ["Generation", "generate", "read_body", "sse_response"]

W = TypeVar("W", bound=BaseModel)


async def read_body(request: Request, model: type[W]) -> W:
    """The request's JSON body validated as ``model`` (within the server's body limit)."""
    return parse_body(model, await read_json(request, app_state(request).settings.max_body_bytes))


def sse_response(events: AsyncIterator[bytes]) -> StreamingResponse:
    """A server-sent event stream, unbuffered by proxies."""
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


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
