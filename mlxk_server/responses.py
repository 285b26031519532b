"""OpenAI Responses: ``POST /v1/responses``, whole or streamed, stateless.

Input items become the same core request as every other protocol; the core's chunks come back
as output items (reasoning, message, function calls) through :class:`~mlxk_server.blocks.Blocks`.
Nothing is stored: ``previous_response_id`` and ``conversation`` are refused with a 400 (send
the whole history as ``input``), whatever ``store`` says.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

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
from mlxk_server.blocks import Block, Blocks, Delta, Ended, Event, Opened
from mlxk_server.errors import ApiError, error_body, from_mlxk
from mlxk_server.handling import Generation, generate, read_body, sse_response
from mlxk_server.responses_wire import InputItem, Part, ResponsesRequest
from mlxk_server.sse import named

__all__ = ["responses", "to_core"]

_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_TEXT_PARTS = ("input_text", "output_text", "text")
_PREFIX = {"text": "msg", "reasoning": "rs", "tool": "fc"}


def _text(content: str | list[Part] | None, param: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    for part in content:
        if part.type not in _TEXT_PARTS:
            raise ApiError(400, f"Unsupported content part {part.type[:40]!r}: the models served "
                           "here read text only", param=param)
    return "".join(part.text or "" for part in content)


def _messages(body: ResponsesRequest) -> list[ChatMessage]:
    out = [ChatMessage("system", body.instructions)] if body.instructions else []
    items = [InputItem(role="user", content=body.input)] if isinstance(body.input, str) else (
        body.input)
    for i, item in enumerate(items):
        param = f"input.{i}"
        kind = item.type or "message"
        if kind == "message":
            role = _ROLES.get(item.role or "")
            if role is None:
                raise ApiError(400, f"Unknown role {str(item.role)[:40]!r}: use user, assistant, "
                               "system or developer", param=f"{param}.role")
            out.append(ChatMessage(role, _text(item.content, f"{param}.content")))  # type: ignore[arg-type]
        elif kind == "function_call":
            call = ToolCall(item.name or "", item.arguments or "{}", item.call_id or "")
            last = out[-1] if out else None
            if last is not None and last.role == "assistant":  # calls join the turn they follow
                out[-1] = ChatMessage("assistant", last.content, last.tool_calls + (call,))
            else:
                out.append(ChatMessage("assistant", "", (call,)))
        elif kind == "function_call_output":
            output = _text(item.output, f"{param}.output")
            out.append(ChatMessage("tool", output, tool_call_id=item.call_id or ""))
        elif kind != "reasoning":  # earlier reasoning is not fed back
            raise ApiError(400, f"Unsupported input item type {kind[:40]!r}: use message, "
                           "function_call or function_call_output", param=f"{param}.type")
    return out


def _choice(body: ResponsesRequest) -> ToolChoice:
    choice = body.tool_choice
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice in ("auto", "none", "required"):
            return choice  # type: ignore[return-value]
    elif choice.type == "function":
        return NamedToolChoice(choice.name or "")
    raise ApiError(400, "tool_choice must be auto, none, required or "
                   "{\"type\": \"function\", \"name\": ...}", param="tool_choice")


def _format(body: ResponsesRequest) -> ResponseFormat | None:
    fmt = body.text.format if body.text else None
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return ResponseFormat("json_object")
    if fmt.type == "json_schema":
        return ResponseFormat("json_schema", fmt.schema_, name=fmt.name, strict=bool(fmt.strict))
    raise ApiError(400, f"Unknown text.format type {fmt.type[:40]!r}: use text, json_object or "
                   "json_schema", param="text.format.type")


def to_core(body: ResponsesRequest) -> GenerationRequest:
    """The core request of a Responses body; 400 for what a stateless server cannot do."""
    if body.previous_response_id is not None or body.conversation is not None:
        raise ApiError(400, "This server stores no responses: previous_response_id and "
                       "conversation are not supported; send the whole conversation as input",
                       param="previous_response_id" if body.previous_response_id else
                       "conversation")
    tools = []
    for tool in body.tools or ():
        if tool.type != "function":
            raise ApiError(400, f"Only function tools are supported, not {tool.type[:40]!r}",
                           param="tools")
        tools.append(Tool(tool.name or "", tool.description,
                          tool.parameters or {"type": "object", "properties": {}}))
    values: dict[str, Any] = {"max_tokens": body.max_output_tokens}
    for name in ("temperature", "top_p"):
        if getattr(body, name) is not None:
            values[name] = getattr(body, name)
    parallel = body.parallel_tool_calls
    return GenerationRequest(
        messages=tuple(_messages(body)), params=GenerationParams(**values), tools=tuple(tools),
        tool_choice=_choice(body), parallel_tool_calls=True if parallel is None else parallel,
        response_format=_format(body),
    )


def _usage(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {"input_tokens": usage.prompt_tokens,
            "input_tokens_details": {"cached_tokens": usage.cached_tokens,
                                     "cache_write_tokens": 0},
            "output_tokens": usage.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage.total_tokens}


class _Response:
    """The documents of one response: the whole response, or its stream of events."""

    def __init__(self, body: ResponsesRequest, run: Generation) -> None:
        self.body, self.run = body, run
        self.id = f"resp_{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.blocks = Blocks()
        self.sequence = 0
        self.ids: dict[int, str] = {}

    def _id(self, block: Block) -> str:
        return self.ids.setdefault(block.index, f"{_PREFIX[block.kind]}_{uuid.uuid4().hex}")

    def _part(self, block: Block, done: bool) -> dict[str, Any]:
        text = block.text if done else ""
        if block.kind == "reasoning":
            return {"type": "reasoning_text", "text": text}
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    def _item(self, block: Block, done: bool) -> dict[str, Any]:
        status = "completed" if done else "in_progress"
        item: dict[str, Any] = {"id": self._id(block), "status": status}
        if block.kind == "tool":
            return item | {"type": "function_call", "call_id": block.call_id or "",
                           "name": block.name or "", "arguments": block.text if done else ""}
        parts = [self._part(block, True)] if done else []
        if block.kind == "reasoning":
            return item | {"type": "reasoning", "summary": [], "content": parts}
        return item | {"type": "message", "role": "assistant", "content": parts}

    def doc(self, ended: Ended | None) -> dict[str, Any]:
        """The response object: in progress, or complete with its output items and usage."""
        status = "in_progress" if ended is None else (
            "incomplete" if ended.reason == "length" else "completed")
        fmt = self.body.text.format if self.body.text else None
        return {
            "id": self.id, "object": "response", "created_at": self.created, "status": status,
            "model": self.body.model, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete"
            else None,
            "instructions": self.body.instructions, "max_output_tokens":
            self.body.max_output_tokens, "metadata": self.body.metadata or {},
            "output": [self._item(b, True) for b in self.blocks.blocks] if ended else [],
            "parallel_tool_calls": self.body.parallel_tool_calls is not False,
            "previous_response_id": None, "reasoning": None, "store": False,
            "temperature": self.body.temperature, "top_p": self.body.top_p,
            "text": {"format": fmt.model_dump(by_alias=True, exclude_none=True) if fmt
                     else {"type": "text"}},
            "tool_choice": self.body.tool_choice if isinstance(self.body.tool_choice, str)
            else (self.body.tool_choice.model_dump(exclude_none=True)
                  if self.body.tool_choice else "auto"),
            "tools": [t.model_dump(exclude_none=True) for t in self.body.tools or ()],
            "truncation": "disabled", "usage": _usage(ended.usage) if ended else None,
        }

    def _event(self, kind: str, **fields: Any) -> bytes:
        self.sequence += 1
        return named(kind, {"type": kind, "sequence_number": self.sequence - 1, **fields})

    def events(self, event: Event) -> list[bytes]:
        """The stream events of one block event."""
        if isinstance(event, Ended):
            done = "response.incomplete" if event.reason == "length" else "response.completed"
            return [self._event(done, response=self.doc(event))]
        block = event.block
        at = {"output_index": block.index}
        part = {**at, "item_id": self._id(block), "content_index": 0}
        text_kind = "output_text" if block.kind == "text" else "reasoning_text"
        extra: dict[str, Any] = {"logprobs": []} if block.kind == "text" else {}
        if isinstance(event, Opened):
            out = [self._event("response.output_item.added", **at,
                               item=self._item(block, False))]
            if block.kind != "tool":
                out.append(self._event("response.content_part.added", **part,
                                       part=self._part(block, False)))
            return out
        if isinstance(event, Delta):
            if block.kind == "tool":
                return [self._event("response.function_call_arguments.delta",
                                    item_id=part["item_id"], **at, delta=event.text)]
            return [self._event(f"response.{text_kind}.delta", **part, delta=event.text,
                                **extra)]
        if block.kind == "tool":
            out = [self._event("response.function_call_arguments.done", item_id=part["item_id"],
                               **at, name=block.name or "", arguments=block.text)]
        else:
            out = [self._event(f"response.{text_kind}.done", **part, text=block.text, **extra),
                   self._event("response.content_part.done", **part,
                               part=self._part(block, True))]
        return out + [self._event("response.output_item.done", **at, item=self._item(block, True))]

    async def stream(self) -> AsyncIterator[bytes]:
        """The whole event stream, ``response.created`` to ``response.completed``."""
        yield self._event("response.created", response=self.doc(None))
        yield self._event("response.in_progress", response=self.doc(None))
        try:
            async for chunk in self.run.chunks():
                for event in self.blocks.feed(chunk):
                    for data in self.events(event):
                        yield data
        except MlxkError as exc:  # headers are sent: the response failed
            failed = self.doc(None) | {"status": "failed",
                                       "error": error_body(from_mlxk(exc))["error"]}
            yield self._event("response.failed", response=failed)


async def responses(request: Request) -> Response:
    """``POST /v1/responses``."""
    body = await read_body(request, ResponsesRequest)
    run = await generate(request, to_core(body), body.model)
    response = _Response(body, run)
    if body.stream:
        return sse_response(response.stream())
    ended = response.blocks.whole(await run.all_chunks(request))
    return JSONResponse(response.doc(ended))
