"""Embeddings over HTTP: OpenAI's ``POST /v1/embeddings`` and Ollama's ``POST /api/embed`` and
``POST /api/embeddings`` (the older one), translated to the core engine's embedding requests.

OpenAI refuses inputs longer than the model's context unless the body says ``"truncate": true``
(an mlxk extension; cut inputs are marked ``"truncated": true``); Ollama cuts them unless it
says ``"truncate": false``, as Ollama does. ``dimensions`` shortens a Matryoshka model's vectors
(normalized again); other models refuse it. Vectors are always unit length.
"""

from __future__ import annotations

import asyncio
import base64
import struct
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mlxk_core import EmbeddingInput, EmbeddingResult, EmbedOptions, MlxkError, ResolvedModel
from mlxk_server.bodies import app_state, parse_body, read_json, until_disconnect
from mlxk_server.errors import ApiError
from mlxk_server.ollama_names import to_mlxk
from mlxk_server.problems import SERVER_SIDE

__all__ = ["ollama_embed", "ollama_embeddings", "openai_embeddings"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    model: str = Field(min_length=1, max_length=512)
    dimensions: int | None = Field(default=None, gt=0)


class EmbeddingRequest(_Wire):
    """``POST /v1/embeddings`` body."""

    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    truncate: bool = False
    user: Any = None


class OllamaEmbedRequest(_Wire):
    """``POST /api/embed`` body (``options`` and ``keep_alive`` are accepted and ignored)."""

    input: str | list[str]
    truncate: bool = True


class OllamaEmbeddingsRequest(_Wire):
    """``POST /api/embeddings`` body (Ollama's older endpoint: one prompt)."""

    prompt: str


async def openai_embeddings(request: Request) -> Response:
    """``POST /v1/embeddings``."""
    body = await _body(request, EmbeddingRequest)
    raw = body.input
    one = isinstance(raw, str) or (bool(raw) and all(isinstance(t, int) for t in raw))
    inputs: list[Any] = [raw] if one else list(raw)
    result = await _embed(request, body.model, inputs, EmbedOptions(body.truncate, body.dimensions))
    data = []
    for i, item in enumerate(result.embeddings):
        doc: dict[str, Any] = {"object": "embedding", "index": i,
                               "embedding": _encoded(item.vector, body.encoding_format)}
        if item.truncated:
            doc["truncated"] = True
        data.append(doc)
    usage = {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens}
    return JSONResponse({"object": "list", "data": data, "model": body.model, "usage": usage})


async def ollama_embed(request: Request) -> Response:
    """``POST /api/embed``."""
    body = await _body(request, OllamaEmbedRequest)
    inputs = [body.input] if isinstance(body.input, str) else list(body.input)
    options = EmbedOptions(body.truncate, body.dimensions)
    result = await _embed(request, to_mlxk(body.model), inputs, options)
    return JSONResponse({
        "model": body.model,
        "embeddings": [list(v) for v in result.vectors],
        "total_duration": int(result.seconds * 1e9),
        "load_duration": int(result.load_seconds * 1e9),
        "prompt_eval_count": result.prompt_tokens,
    })


async def ollama_embeddings(request: Request) -> Response:
    """``POST /api/embeddings``: one vector, no usage."""
    body = await _body(request, OllamaEmbeddingsRequest)
    options = EmbedOptions(True, body.dimensions)
    result = await _embed(request, to_mlxk(body.model), [body.prompt], options)
    return JSONResponse({"embedding": list(result.vectors[0])})


async def _body(request: Request, wire: type[Any]) -> Any:
    return parse_body(wire, await read_json(request, app_state(request).settings.max_body_bytes))


def _encoded(vector: Sequence[float], encoding: str) -> list[float] | str:
    """The vector as floats, or as base64 of little-endian float32 (what OpenAI sends)."""
    if encoding == "float":
        return list(vector)
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def _check_text(inputs: list[EmbeddingInput]) -> None:
    for i, item in enumerate(inputs):
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ApiError(400, f"Input {i} is not valid Unicode (no lone surrogates)",
                               param="input", code="invalid_text") from None


async def _embed(
    request: Request, name: str, inputs: list[EmbeddingInput], options: EmbedOptions
) -> EmbeddingResult:
    """Resolve ``name`` in the catalog and wait for the engine's vectors (a client that goes
    away drops the request); server-side failures are recorded as the model's problem."""
    _check_text(inputs)
    state = app_state(request)
    try:
        model = await run_in_threadpool(state.catalog.resolve, name)
        result = await until_disconnect(request, _submit(state.engine, model, inputs, options))
    except SERVER_SIDE as exc:
        state.problems.record(getattr(exc, "name", None) or name, exc)
        raise
    state.problems.clear(model.repo_id or name)
    return result


async def _submit(
    engine: Any, model: ResolvedModel, inputs: list[EmbeddingInput], options: EmbedOptions
) -> EmbeddingResult:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[EmbeddingResult] = loop.create_future()

    def listen(event: EmbeddingResult | MlxkError) -> None:  # on the engine thread
        try:
            loop.call_soon_threadsafe(_settle, done, event)
        except RuntimeError:  # the loop is gone: nobody is waiting
            handle.cancel()

    handle = engine.embed(model, inputs, options, listener=listen)
    try:
        return await done
    except BaseException:
        handle.cancel()
        raise


def _settle(done: asyncio.Future[EmbeddingResult], event: EmbeddingResult | MlxkError) -> None:
    if done.done():
        return
    if isinstance(event, MlxkError):
        done.set_exception(event)
    else:
        done.set_result(event)
