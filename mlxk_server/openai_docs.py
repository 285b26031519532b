"""Core completions and chunks as OpenAI documents: chat and text completions, whole or streamed.

Tool calls stream as OpenAI streams them: per call, a first delta with its ``index``, ``id``
and function name (empty arguments), then the arguments. Logprobs follow the shape of each
endpoint: ``{"content": [...]}`` for chat, parallel lists for text completions.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from mlxk_core import Chunk, Completion, TokenLogprob, ToolCall, ToolCallDelta, Usage

__all__ = ["Shape", "usage_dict"]


def usage_dict(usage: Usage | None) -> dict[str, Any] | None:
    """OpenAI ``usage`` of a core Usage."""
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def _finish(reason: str | None) -> str | None:
    if reason is None:
        return None
    return reason if reason in ("length", "tool_calls") else "stop"


def _call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function",
            "function": {"name": call.name, "arguments": call.arguments}}


def _chat_logprobs(items: tuple[TokenLogprob, ...]) -> dict[str, Any]:
    def one(lp: TokenLogprob) -> dict[str, Any]:
        top = [{"token": t.token, "logprob": t.logprob, "bytes": list(t.bytes)}
               for t in lp.top_logprobs]
        return {"token": lp.token, "logprob": lp.logprob, "bytes": list(lp.bytes),
                "top_logprobs": top}

    return {"content": [one(lp) for lp in items]}


def _text_logprobs(items: tuple[TokenLogprob, ...], offset: int = 0) -> dict[str, Any]:
    offsets = []
    for lp in items:
        offsets.append(offset)
        offset += len(lp.token)
    return {
        "tokens": [lp.token for lp in items],
        "token_logprobs": [lp.logprob for lp in items],
        "top_logprobs": [{t.token: t.logprob for t in lp.top_logprobs} for lp in items],
        "text_offset": offsets,
    }


@dataclass
class Shape:
    """Builds the documents of one response: chat or text completion, whole or streamed."""

    kind: Literal["chat", "text"]
    model: str
    logprobs: bool = False
    id: str = field(default="")
    created: int = field(default_factory=lambda: int(time.time()))
    _offset: int = 0

    def __post_init__(self) -> None:
        if not self.id:
            prefix = "chatcmpl" if self.kind == "chat" else "cmpl"
            self.id = f"{prefix}-{uuid.uuid4().hex}"

    def _doc(self, obj: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model,
                "choices": choices}

    def _logprobs(self, items: tuple[TokenLogprob, ...]) -> dict[str, Any] | None:
        if not self.logprobs:
            return None
        if self.kind == "chat":
            return _chat_logprobs(items)
        doc = _text_logprobs(items, self._offset)
        self._offset += sum(len(lp.token) for lp in items)
        return doc

    def whole(self, completion: Completion) -> dict[str, Any]:
        """The non-streaming response document."""
        finish = _finish(completion.finish_reason)
        logprobs = self._logprobs(completion.logprobs or ())
        if self.kind == "chat":
            calls = [_call(c) for c in completion.tool_calls]
            message: dict[str, Any] = {
                "role": "assistant", "content": completion.text if completion.text or not calls
                else None,
            }
            if calls:
                message["tool_calls"] = calls
            if completion.reasoning is not None:
                message["reasoning_content"] = completion.reasoning
            choice = {"index": 0, "message": message, "finish_reason": finish,
                      "logprobs": logprobs}
            doc = self._doc("chat.completion", [choice])
        else:
            choice = {"index": 0, "text": completion.text, "finish_reason": finish,
                      "logprobs": logprobs}
            doc = self._doc("text_completion", [choice])
        doc["usage"] = usage_dict(completion.usage)
        return doc

    def first(self) -> dict[str, Any] | None:
        """The opening stream event (the role, for chat), or None for text completions."""
        if self.kind != "chat":
            return None
        choice = {"index": 0, "delta": {"role": "assistant", "content": ""},
                  "finish_reason": None, "logprobs": None}
        return self._doc("chat.completion.chunk", [choice])

    def deltas(self, chunk: Chunk, include_usage: bool) -> list[dict[str, Any]]:
        """The stream events of a chunk (none when it carries nothing to send)."""
        finish = _finish(chunk.finish_reason)
        docs = [self._call_doc(d, header) for d in chunk.tool_calls for header in (True, False)]
        if chunk.text or chunk.reasoning or chunk.logprobs or finish is not None:
            logprobs = self._logprobs(chunk.logprobs) if chunk.logprobs else None
            if self.kind == "chat":
                delta: dict[str, Any] = {}
                if chunk.text:
                    delta["content"] = chunk.text
                if chunk.reasoning:
                    delta["reasoning_content"] = chunk.reasoning
                choice = {"index": 0, "delta": delta, "finish_reason": finish,
                          "logprobs": logprobs}
                docs.append(self._doc("chat.completion.chunk", [choice]))
            else:
                choice = {"index": 0, "text": chunk.text, "finish_reason": finish,
                          "logprobs": logprobs}
                docs.append(self._doc("text_completion", [choice]))
        if docs and finish is not None and include_usage:
            docs[-1]["usage"] = usage_dict(chunk.usage)
        return docs

    def _call_doc(self, delta: ToolCallDelta, header: bool) -> dict[str, Any]:
        """A call's header (id, name) or its arguments, as a chat chunk."""
        if header:
            call: dict[str, Any] = {"index": delta.index, "id": delta.id, "type": "function",
                                    "function": {"name": delta.name, "arguments": ""}}
        else:
            call = {"index": delta.index, "function": {"arguments": delta.arguments}}
        choice = {"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None,
                  "logprobs": None}
        return self._doc("chat.completion.chunk", [choice])
