"""Anthropic Messages: ``POST /v1/messages`` (whole or streamed) and ``/v1/messages/count_tokens``.

Bodies become the same core request as every other protocol (messages, tools, tool choice,
response format) and the core's chunks come back as Anthropic content blocks through
:class:`~mlxk_server.blocks.Blocks`. Absent ``temperature`` / ``top_p`` / ``top_k`` keep the
server's defaults (greedy), as on the OpenAI endpoints.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mlxk_core import (
    ChatMessage,
    GenerationParams,
    GenerationRequest,
    MlxkError,
    NamedToolChoice,
    ResponseFormat,
    Tool,
    ToolCall,
    ToolChoice,
    Usage,
)
from mlxk_server.anthropic_wire import (
    AnthropicMessage,
    Block,
    CountTokensRequest,
    MessagesRequest,
)
from mlxk_server.blocks import Block as Out
from mlxk_server.blocks import Blocks, Closed, Delta, Ended, Event, Opened
from mlxk_server.bodies import app_state
from mlxk_server.errors import ApiError, error_body_for, from_mlxk
from mlxk_server.handling import Generation, generate, read_body, sse_response
from mlxk_server.sse import named

__all__ = ["count_tokens", "messages"]

_CHOICES: dict[str, ToolChoice] = {"auto": "auto", "any": "required", "none": "none"}
_STOP = {"length": "max_tokens", "tool_calls": "tool_use"}
_DELTA = {"text": ("text_delta", "text"), "reasoning": ("thinking_delta", "thinking"),
          "tool": ("input_json_delta", "partial_json")}


def _text(blocks: str | list[Block] | None, param: str) -> str:
    if blocks is None or isinstance(blocks, str):
        return blocks or ""
    parts = []
    for block in blocks:
        if block.type != "text":
            raise _refuse(block.type, param)
        parts.append(block.text or "")
    return "".join(parts)


def _refuse(kind: str, param: str) -> ApiError:
    if kind in ("image", "document"):
        return ApiError(400, f"{kind} blocks are not supported: the models served here read "
                        "text only", param=param)
    return ApiError(400, f"Unsupported content block type {kind[:40]!r}: use text, tool_use "
                    "or tool_result", param=param)


def _turn(message: AnthropicMessage, i: int) -> list[ChatMessage]:
    param = f"messages.{i}.content"
    if message.role not in ("user", "assistant"):
        raise ApiError(400, f"Unknown role {message.role[:40]!r}: use user or assistant",
                       param=f"messages.{i}.role")
    if isinstance(message.content, str):
        return [ChatMessage(message.role, message.content)]  # type: ignore[arg-type]
    out: list[ChatMessage] = []
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.content:
        if block.type == "text":
            texts.append(block.text or "")
        elif block.type == "tool_use" and message.role == "assistant":
            calls.append(ToolCall(block.name or "", json.dumps(block.input or {}),
                                  block.id or ""))
        elif block.type == "tool_result" and message.role == "user":
            content = _text(block.content, param)
            out.append(ChatMessage("tool", content, tool_call_id=block.tool_use_id or ""))
        elif block.type not in ("thinking", "redacted_thinking"):  # earlier thoughts: dropped
            raise _refuse(block.type, param)
    if texts or calls or not out:
        out.append(ChatMessage(message.role, "".join(texts), tool_calls=tuple(calls)))  # type: ignore[arg-type]
    return out


def to_core(body: CountTokensRequest) -> GenerationRequest:
    """The core request of a Messages body."""
    messages = [ChatMessage("system", _text(body.system, "system"))] if body.system else []
    for i, message in enumerate(body.messages):
        messages.extend(_turn(message, i))
    tools = []
    for tool in body.tools or ():
        if tool.type not in (None, "custom"):
            raise ApiError(400, f"Server tools such as {tool.type[:40]!r} are not supported: "
                           "give client tools with an input_schema", param="tools")
        tools.append(Tool(tool.name, tool.description, tool.input_schema))
    choice: ToolChoice = "auto"
    parallel = True
    if body.tool_choice is not None:
        kind = body.tool_choice.type
        if kind == "tool":
            choice = NamedToolChoice(body.tool_choice.name or "")
        elif kind in _CHOICES:
            choice = _CHOICES[kind]
        else:
            raise ApiError(400, f"Unknown tool_choice type {kind[:40]!r}: use auto, any, tool "
                           "or none", param="tool_choice")
        parallel = not body.tool_choice.disable_parallel_tool_use
    fmt = body.output_config.format if body.output_config else None
    response_format = None
    if fmt is not None:
        if fmt.type != "json_schema":
            raise ApiError(400, "output_config.format.type must be json_schema",
                           param="output_config.format")
        response_format = ResponseFormat("json_schema", fmt.schema_, name="output")
    return GenerationRequest(
        messages=tuple(messages), params=_params(body), tools=tuple(tools), tool_choice=choice,
        parallel_tool_calls=parallel, response_format=response_format,
    )


def _params(body: CountTokensRequest) -> GenerationParams:
    if not isinstance(body, MessagesRequest):
        return GenerationParams()
    values: dict[str, Any] = {"max_tokens": body.max_tokens,
                              "stop": tuple(body.stop_sequences or ())}
    for name in ("temperature", "top_p", "top_k"):
        if getattr(body, name) is not None:
            values[name] = getattr(body, name)
    return GenerationParams(**values)


def _thinking(body: CountTokensRequest) -> bool:
    """Thinking blocks are returned only when the request enables thinking, as Anthropic does."""
    return body.thinking is not None and body.thinking.type in ("enabled", "adaptive")


def _usage(usage: Usage) -> dict[str, int]:
    # Anthropic counts cache reads apart from input tokens (their sum is the whole prompt)
    return {"input_tokens": usage.prompt_tokens - usage.cached_tokens,
            "output_tokens": usage.completion_tokens,
            "cache_read_input_tokens": usage.cached_tokens,
            "cache_creation_input_tokens": 0}


def _stop(ended: Ended) -> tuple[str, str | None]:
    """``stop_reason`` and ``stop_sequence``."""
    if ended.reason == "stop" and ended.stop_sequence is not None:
        return "stop_sequence", ended.stop_sequence
    return _STOP.get(ended.reason, "end_turn"), None


def _block_doc(block: Out, *, whole: bool) -> dict[str, Any]:
    if block.kind == "text":
        return {"type": "text", "text": block.text if whole else ""}
    if block.kind == "reasoning":
        return {"type": "thinking", "thinking": block.text if whole else "", "signature": ""}
    return {"type": "tool_use", "id": block.call_id or "", "name": block.name or "",
            "input": block.arguments() if whole else {}}


class _Message:
    """The documents of one response, whole or as a stream of events."""

    def __init__(self, body: MessagesRequest, run: Generation) -> None:
        self.body, self.run = body, run
        self.id = f"msg_{uuid.uuid4().hex}"
        self.blocks = Blocks(reasoning=_thinking(body))

    def head(self, content: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "type": "message", "role": "assistant", "model": self.body.model,
                "content": content, "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": self.run.started.prompt_tokens, "output_tokens": 0}}

    def whole(self, ended: Ended) -> dict[str, Any]:
        doc = self.head([_block_doc(b, whole=True) for b in self.blocks.blocks])
        doc["stop_reason"], doc["stop_sequence"] = _stop(ended)
        doc["usage"] = _usage(ended.usage)
        return doc

    def event(self, event: Event) -> bytes:
        if isinstance(event, Opened):
            return named("content_block_start", {
                "type": "content_block_start", "index": event.block.index,
                "content_block": _block_doc(event.block, whole=False)})
        if isinstance(event, Delta):
            kind, key = _DELTA[event.block.kind]
            return named("content_block_delta", {
                "type": "content_block_delta", "index": event.block.index,
                "delta": {"type": kind, key: event.text}})
        if isinstance(event, Closed):
            return named("content_block_stop",
                         {"type": "content_block_stop", "index": event.block.index})
        reason, sequence = _stop(event)
        return named("message_delta", {
            "type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": sequence},
            "usage": _usage(event.usage)}) + named("message_stop", {"type": "message_stop"})

    async def stream(self) -> AsyncIterator[bytes]:
        yield named("message_start", {"type": "message_start", "message": self.head([])})
        try:
            async for chunk in self.run.chunks():
                for event in self.blocks.feed(chunk):
                    yield self.event(event)
        except MlxkError as exc:  # headers are sent: report the failure as an event
            yield named("error", error_body_for("/v1/messages", from_mlxk(exc)))


async def messages(request: Request) -> Response:
    """``POST /v1/messages``."""
    body = await read_body(request, MessagesRequest)
    run = await generate(request, to_core(body), body.model)
    message = _Message(body, run)
    if body.stream:
        return sse_response(message.stream())
    ended = message.blocks.whole(await run.all_chunks(request))
    return JSONResponse(message.whole(ended))


async def count_tokens(request: Request) -> Response:
    """``POST /v1/messages/count_tokens``: the prompt's tokens under the model's chat template."""
    body = await read_body(request, CountTokensRequest)
    core = to_core(body)
    state = app_state(request)
    model = await run_in_threadpool(state.catalog.resolve, body.model)
    prompt = await run_in_threadpool(state.engine.encode, model, core)
    return JSONResponse({"input_tokens": len(prompt.tokens)})
