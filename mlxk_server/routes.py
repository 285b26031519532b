"""HTTP handlers: health, models, chat and text completions (streaming or whole); the routes of
every protocol module (embeddings: :mod:`mlxk_server.embeddings`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Match, Route
from starlette.types import Scope

from mlxk_core import CachedModel, GroupBroken, ModelNotFound, __version__
from mlxk_server import anthropic, ollama, ollama_admin, responses
from mlxk_server.auth import has_key
from mlxk_server.bodies import app_state as _state
from mlxk_server.bodies import parse_body as _parse
from mlxk_server.bodies import read_json as _body
from mlxk_server.bodies import until_disconnect as _until_disconnect
from mlxk_server.embeddings import ollama_embed, ollama_embeddings, openai_embeddings
from mlxk_server.errors import ApiError
from mlxk_server.jobs import Job
from mlxk_server.openai_docs import Shape
from mlxk_server.problems import SERVER_SIDE
from mlxk_server.sse import event_stream
from mlxk_server.translate import to_core
from mlxk_server.wire import ChatCompletionRequest, CompletionRequest

__all__ = ["ROUTES"]

Endpoint = Callable[[Request], Awaitable[Response]]


def _model_doc(model: CachedModel) -> dict[str, Any]:
    facts = model.latest.facts if model.latest is not None else None
    doc: dict[str, Any] = {
        "id": model.repo_id, "object": "model", "created": int(model.last_modified),
        "owned_by": model.repo_id.split("/")[0] if "/" in model.repo_id else "local",
        "capabilities": list(facts.capabilities) if facts else [],
    }
    embedding = facts.embedding if facts else None
    if embedding is not None:  # what it is for: vectors (POST /v1/embeddings), not text
        doc.update(type="embedding", dimension=embedding.dimension, pooling=embedding.pooling)
    return doc


async def health(request: Request) -> Response:
    """Liveness and version; what is loaded, the queue, problems and the sharded group too, to
    holders of the key. 503 while a sharded model's group is broken."""
    state = _state(request)
    doc: dict[str, Any] = {"status": "ok", "version": __version__}
    broken = state.group.broken if state.group is not None else None
    if broken:  # a sharded model that lost a rank serves nothing: say so (503)
        doc.update(status="unavailable", problem=f"The sharded model is unavailable: {broken}")
    key = state.settings.api_key
    if key is None or has_key(request.scope, key):
        status = state.engine.status()
        doc.update(loaded=list(status.loaded), waiting=status.waiting, active=status.active,
                   problems=state.problems.describe())
        if state.group is not None:
            doc["group"] = state.group.describe()
    return JSONResponse(doc, status_code=503 if broken else 200)


async def loaded(request: Request) -> Response:
    """What is loaded, its size and since when."""
    return JSONResponse({"object": "list", "data": list(_state(request).engine.status().loaded)})


async def list_models(request: Request) -> Response:
    """Runnable models of the cache in OpenAI list shape."""
    models = await run_in_threadpool(_state(request).catalog.models)
    return JSONResponse({"object": "list", "data": [_model_doc(m) for m in models]})


async def get_model(request: Request) -> Response:
    """One model by id."""
    name = request.path_params["model_id"]
    models = await run_in_threadpool(_state(request).catalog.models)
    for model in models:
        if model.repo_id == name:
            return JSONResponse(_model_doc(model))
    raise ModelNotFound(name)


async def _complete(request: Request, wire: type[ChatCompletionRequest | CompletionRequest],
                    kind: str) -> Response:
    state = _state(request)
    body = _parse(wire, await _body(request, state.settings.max_body_bytes))
    core = to_core(body)
    broken = state.group.broken if state.group is not None else None
    if broken:
        raise GroupBroken(broken)
    problems = state.problems
    try:
        model = await run_in_threadpool(state.catalog.resolve, body.model)
        job = Job(state.engine, model, core)
        await _until_disconnect(request, job.started())
    except SERVER_SIDE as exc:
        problems.record(getattr(exc, "name", None) or body.model, exc)
        raise
    name = model.repo_id or body.model
    problems.clear(name)
    shape = Shape(kind, body.model, logprobs=core.params.logprobs)  # type: ignore[arg-type]
    if body.stream:
        usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            event_stream(problems.watch(name, job.chunks()), shape, include_usage=usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    try:
        completion = await _until_disconnect(request, job.completion())
    except SERVER_SIDE as exc:
        problems.record(name, exc)
        raise
    finally:
        job.cancel()
    return JSONResponse(shape.whole(completion))


async def chat_completions(request: Request) -> Response:
    """``POST /v1/chat/completions``."""
    return await _complete(request, ChatCompletionRequest, "chat")


async def completions(request: Request) -> Response:
    """``POST /v1/completions``."""
    return await _complete(request, CompletionRequest, "text")


def _only(method: str, endpoint: Endpoint) -> Endpoint:
    """``endpoint`` for ``method`` (GET also answers HEAD); other methods get a 405 error."""
    allowed = {method, "HEAD"} if method == "GET" else {method}

    async def handle(request: Request) -> Response:
        if request.method not in allowed:
            raise ApiError(405, f"Method {request.method} is not allowed here; use {method}",
                           code="method_not_allowed", headers={"Allow": ", ".join(sorted(allowed))})
        return await endpoint(request)

    handle.__doc__ = endpoint.__doc__
    return handle


async def unknown_path(request: Request) -> Response:
    """Any path the API does not have."""
    raise ApiError(404, f"Unknown path '{request.url.path}'", code="unknown_url")


class _Fallback(Route):
    """Matches every HTTP request (paths with newlines too, which path patterns never match)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """A full match for any HTTP request."""
        if scope["type"] != "http":
            return Match.NONE, {}
        return Match.FULL, {"endpoint": self.endpoint, "path_params": {}}


# every route takes every method, so a wrong one gets the OpenAI error shape, not plain text
_ANY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

ROUTES = (
    Route("/health", _only("GET", health), methods=_ANY),
    Route("/v1/loaded", _only("GET", loaded), methods=_ANY),
    Route("/v1/models", _only("GET", list_models), methods=_ANY),
    Route("/v1/models/{model_id:path}", _only("GET", get_model), methods=_ANY),
    Route("/v1/chat/completions", _only("POST", chat_completions), methods=_ANY),
    Route("/v1/completions", _only("POST", completions), methods=_ANY),
    Route("/v1/responses", _only("POST", responses.responses), methods=_ANY),
    Route("/v1/messages", _only("POST", anthropic.messages), methods=_ANY),
    Route("/v1/messages/count_tokens", _only("POST", anthropic.count_tokens), methods=_ANY),
    Route("/api/version", _only("GET", ollama_admin.version), methods=_ANY),
    Route("/api/tags", _only("GET", ollama_admin.tags), methods=_ANY),
    Route("/api/ps", _only("GET", ollama_admin.ps), methods=_ANY),
    Route("/api/show", _only("POST", ollama_admin.show), methods=_ANY),
    Route("/api/chat", _only("POST", ollama.chat), methods=_ANY),
    Route("/api/generate", _only("POST", ollama.generate_text), methods=_ANY),
    *(Route(f"/api/{name}", ollama_admin.refuse, methods=_ANY)
      for name in ("pull", "push", "create", "delete", "copy", "blobs/{digest:path}")),
    Route("/v1/embeddings", _only("POST", openai_embeddings), methods=_ANY),
    Route("/api/embed", _only("POST", ollama_embed), methods=_ANY),
    Route("/api/embeddings", _only("POST", ollama_embeddings), methods=_ANY),
    _Fallback("/", unknown_path, methods=_ANY),
)
