"""Ollama's generation API: ``POST /api/chat`` and ``POST /api/generate``.

Bodies become the same core request as every other protocol; answers stream as
newline-delimited JSON by default (``stream: false`` gives one document). ``options`` map to
sampling (absent ones keep the server's greedy defaults), ``format`` is JSON mode or a JSON
schema, and ``keep_alive`` sets when the model is unloaded (see :mod:`mlxk_server.keepalive`).
A request without messages (or with an empty prompt) only loads the model, or unloads it with
``keep_alive: 0``, as Ollama does.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from mlxk_core import (
    ChatMessage,
    GenerationParams,
    GenerationRequest,
    MlxkError,
    ResolvedModel,
    ResponseFormat,
    Tool,
    ToolCall,
)
from mlxk_server.blocks import Block, Blocks, Closed, Delta, Ended
from mlxk_server.bodies import app_state
from mlxk_server.errors import ApiError, from_mlxk
from mlxk_server.handling import Generation, generate, read_body
from mlxk_server.keepalive import parse_duration
from mlxk_server.ollama_names import iso_time, to_mlxk
from mlxk_server.ollama_wire import ChatRequest, GenerateRequest, OllamaMessage, Options

__all__ = ["chat", "generate_text"]

_NS = 1_000_000_000


def _params(options: Options | None) -> GenerationParams:
    if options is None:
        return GenerationParams()
    values: dict[str, Any] = {}
    for name in ("temperature", "top_p", "top_k", "min_p"):
        if getattr(options, name) is not None:
            values[name] = getattr(options, name)
    if options.seed is not None:  # any integer is a seed; the generator takes 64 bits
        values["seed"] = options.seed % 2**64
    if options.num_predict is not None and options.num_predict > 0:  # -1, -2: no limit
        values["max_tokens"] = options.num_predict
    if options.repeat_penalty is not None:
        values["repetition_penalty"] = options.repeat_penalty
    stop = options.stop
    values["stop"] = (stop,) if isinstance(stop, str) else tuple(stop or ())
    return GenerationParams(**values)


def _format(fmt: str | dict[str, Any] | None) -> ResponseFormat | None:
    if fmt is None or fmt == "":
        return None
    if fmt == "json":
        return ResponseFormat("json_object")
    if isinstance(fmt, dict):
        return ResponseFormat("json_schema", fmt, name="output")
    raise ApiError(400, f"Invalid format {fmt[:40]!r}: use \"json\" or a JSON schema",
                   param="format")


def _arguments(arguments: dict[str, Any] | str | None) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments or {})


def _history(messages: list[OllamaMessage]) -> list[ChatMessage]:
    """Core messages; calls without ids get ``call_<n>``, answered by tool messages in order."""
    out: list[ChatMessage] = []
    pending: list[tuple[str, str]] = []  # (id, tool name) of calls not yet answered
    for i, msg in enumerate(messages):
        if msg.images:
            raise ApiError(400, "Images are not supported: the models served here read text "
                           "only", param=f"messages.{i}.images")
        if msg.role == "tool":
            match = next((p for p in pending if msg.tool_name in (None, p[1])), None)
            if match is not None:
                pending.remove(match)
            call_id = msg.tool_call_id or (match[0] if match else f"call_{len(out)}")
            out.append(ChatMessage("tool", msg.content or "", tool_call_id=call_id))
            continue
        calls = tuple(
            ToolCall(c.function.name, _arguments(c.function.arguments), c.id or f"call_{i}_{j}")
            for j, c in enumerate(msg.tool_calls or ())
        )
        pending.extend((c.id, c.name) for c in calls)
        out.append(ChatMessage(msg.role, msg.content or "", calls))  # type: ignore[arg-type]
    return out


def chat_to_core(body: ChatRequest) -> GenerationRequest:
    """The core request of an ``/api/chat`` body."""
    tools = tuple(Tool(t.function.name, t.function.description,
                       t.function.parameters or {"type": "object", "properties": {}})
                  for t in body.tools or ())
    return GenerationRequest(messages=tuple(_history(body.messages)), params=_params(body.options),
                             tools=tools, response_format=_format(body.format))


def generate_to_core(body: GenerateRequest) -> GenerationRequest:
    """The core request of an ``/api/generate`` body: the prompt as a user turn, or ``raw``."""
    for name in ("suffix", "template", "images", "context"):
        if getattr(body, name):
            raise ApiError(400, f"'{name}' is not supported by this server", param=name)
    params, fmt = _params(body.options), _format(body.format)
    if body.raw:
        return GenerationRequest(prompt=body.prompt, params=params, response_format=fmt)
    system = [ChatMessage("system", body.system)] if body.system else []
    return GenerationRequest(messages=(*system, ChatMessage("user", body.prompt)), params=params,
                             response_format=fmt)


def _call(block: Block, index: int) -> dict[str, Any]:
    return {"id": block.call_id, "function": {"index": index, "name": block.name or "",
                                              "arguments": block.arguments()}}


class _Reply:
    """The documents of one answer: NDJSON pieces and the final one, or the whole answer."""

    def __init__(self, body: ChatRequest | GenerateRequest, run: Generation, t0: float) -> None:
        self.body, self.run, self.t0 = body, run, t0
        self.chat = isinstance(body, ChatRequest)
        self.loaded = time.perf_counter()
        self.blocks = Blocks(reasoning=body.think is not False)
        self.calls = 0

    def piece(self, text: str = "", thinking: str = "", calls: Sequence[Block] = ()
              ) -> dict[str, Any]:
        doc: dict[str, Any] = {"model": self.body.model, "created_at": iso_time()}
        if self.chat:
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if thinking:
                message["thinking"] = thinking
            if calls:
                message["tool_calls"] = [_call(c, self.calls + i) for i, c in enumerate(calls)]
                self.calls += len(calls)
            doc["message"] = message
        else:
            doc["response"] = text
            if thinking:
                doc["thinking"] = thinking
        return doc | {"done": False}

    def final(self, ended: Ended, doc: dict[str, Any]) -> dict[str, Any]:
        usage, timings = ended.usage, ended.timings
        decoding = (usage.completion_tokens - 1) / timings.generation_tps \
            if timings.generation_tps > 0 else 0.0
        return doc | {
            "done": True, "done_reason": "length" if ended.reason == "length" else "stop",
            "total_duration": int((time.perf_counter() - self.t0) * _NS),
            "load_duration": int((self.loaded - self.t0) * _NS),
            "prompt_eval_count": usage.prompt_tokens,
            "prompt_eval_duration": int((timings.time_to_first_token or 0.0) * _NS),
            "eval_count": usage.completion_tokens, "eval_duration": int(decoding * _NS),
        }

    def whole(self, ended: Ended) -> dict[str, Any]:
        def joined(kind: str) -> str:
            return "".join(b.text for b in self.blocks.blocks if b.kind == kind)

        calls = [b for b in self.blocks.blocks if b.kind == "tool"]
        return self.final(ended, self.piece(joined("text"), joined("reasoning"), calls))

    async def lines(self, request: Request) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.run.chunks():
                for event in self.blocks.feed(chunk):
                    doc = None
                    if isinstance(event, Delta) and event.block.kind == "text":
                        doc = self.piece(text=event.text)
                    elif isinstance(event, Delta) and event.block.kind == "reasoning":
                        doc = self.piece(thinking=event.text)
                    elif isinstance(event, Closed) and event.block.kind == "tool":
                        doc = self.piece(calls=[event.block])
                    elif isinstance(event, Ended):
                        doc = self.final(event, self.piece())
                    if doc is not None:
                        yield _line(doc)
        except MlxkError as exc:  # headers are sent: report the failure as a line
            yield _line({"error": from_mlxk(exc).message})
        finally:
            _keep_alive(request, self.body, self.run.model, self.run.name)


def _line(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def _keep_alive(request: Request, body: ChatRequest | GenerateRequest, model: ResolvedModel,
                name: str) -> None:
    if body.keep_alive is not None:
        state = app_state(request)
        state.keep_alive.apply(state.engine, name, model, parse_duration(body.keep_alive))


async def _load_only(request: Request, body: ChatRequest | GenerateRequest,
                     model: ResolvedModel) -> Response:
    state = app_state(request)
    name = model.repo_id or body.model
    unload = body.keep_alive is not None and parse_duration(body.keep_alive) == 0
    if not unload:
        await run_in_threadpool(state.engine.load, model)
    _keep_alive(request, body, model, name)
    doc: dict[str, Any] = {"model": body.model, "created_at": iso_time()}
    doc |= {"message": {"role": "assistant", "content": ""}} if isinstance(body, ChatRequest) \
        else {"response": ""}
    return JSONResponse(doc | {"done": True, "done_reason": "unload" if unload else "load"})


async def _answer(request: Request, body: ChatRequest | GenerateRequest,
                  core: GenerationRequest | None) -> Response:
    t0 = time.perf_counter()
    state = app_state(request)
    if body.keep_alive is not None:
        parse_duration(body.keep_alive)  # refuse a bad value before any work
    model = await run_in_threadpool(state.catalog.resolve, to_mlxk(body.model))
    if core is None:
        return await _load_only(request, body, model)
    run = await generate(request, core, body.model, model)
    reply = _Reply(body, run, t0)
    if body.stream:
        return StreamingResponse(reply.lines(request), media_type="application/x-ndjson")
    try:
        ended = reply.blocks.whole(await run.all_chunks(request))
    finally:
        _keep_alive(request, body, run.model, run.name)
    return JSONResponse(reply.whole(ended))


async def chat(request: Request) -> Response:
    """``POST /api/chat``."""
    body = await read_body(request, ChatRequest)
    return await _answer(request, body, chat_to_core(body) if body.messages else None)


async def generate_text(request: Request) -> Response:
    """``POST /api/generate``."""
    body = await read_body(request, GenerateRequest)
    core = generate_to_core(body) if body.prompt or body.system else None
    return await _answer(request, body, core)

