"""Wire <-> core: OpenAI bodies to GenerationRequest, core chunks to OpenAI documents."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from mlxk_core.errors import InvalidRequest
from mlxk_core.generation.events import Chunk, Completion, Usage
from mlxk_core.generation.request import ChatMessage, GenerationParams, GenerationRequest
from mlxk_server.errors import ApiError
from mlxk_server.wire import ChatCompletionRequest, ChatMessageIn, CompletionRequest

__all__ = ["Shape", "to_core", "usage_dict"]

_ROLE_ALIASES = {"developer": "system"}


def _utf8(text: str, param: str) -> str:
    """``text`` if it can be encoded as UTF-8 (JSON escapes can carry lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "Text must be valid Unicode (no lone surrogates)",
                       param=param, code="invalid_text") from None
    return text


def _text(message: ChatMessageIn, index: int) -> str:
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return _utf8(content, f"messages[{index}].content")
    parts = []
    for part in content:
        if part.type != "text" or part.text is None:
            raise ApiError(
                400, f"Only text content parts are supported, got {part.type[:40]!r}",
                param=f"messages[{index}].content",
            )
        parts.append(part.text)
    return _utf8("".join(parts), f"messages[{index}].content")


def _messages(body: ChatCompletionRequest) -> tuple[ChatMessage, ...]:
    out = []
    for i, msg in enumerate(body.messages):
        role = _ROLE_ALIASES.get(msg.role, msg.role)
        if role not in ("system", "user", "assistant"):
            raise ApiError(
                400, f"Unknown role {msg.role[:40]!r}: use system, user or assistant",
                param=f"messages[{i}].role",
            )
        out.append(ChatMessage(role, _text(msg, i)))  # type: ignore[arg-type]
    return tuple(out)


def _prompt(body: CompletionRequest) -> str:
    if isinstance(body.prompt, str):
        return _utf8(body.prompt, "prompt")
    if len(body.prompt) != 1:
        raise ApiError(400, "prompt must be a string or a list of one string", param="prompt")
    return _utf8(body.prompt[0], "prompt")


def _params(body: ChatCompletionRequest | CompletionRequest) -> GenerationParams:
    if body.n not in (None, 1):
        raise ApiError(400, "Only n=1 is supported", param="n")
    max_tokens = body.max_tokens
    if isinstance(body, ChatCompletionRequest) and body.max_completion_tokens is not None:
        max_tokens = body.max_completion_tokens
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    stop = tuple(_utf8(s, "stop") for s in stop)
    # any integer is a seed; the generator takes 64 bits
    seed = None if body.seed is None else body.seed % 2**64
    values: dict[str, Any] = {"max_tokens": max_tokens, "seed": seed, "stop": stop}
    if body.temperature is not None:
        values["temperature"] = body.temperature
    if body.top_p is not None:
        values["top_p"] = body.top_p
    return GenerationParams(**values)


def to_core(body: ChatCompletionRequest | CompletionRequest) -> GenerationRequest:
    """The core request of a wire body; InvalidRequest or ApiError(400) when it is not valid."""
    try:
        params = _params(body)
        if isinstance(body, ChatCompletionRequest):
            return GenerationRequest(messages=_messages(body), params=params)
        return GenerationRequest(prompt=_prompt(body), params=params)
    except InvalidRequest as exc:
        raise ApiError(400, exc.message, param=exc.param, code=exc.code) from None


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
    return None if reason is None else ("length" if reason == "length" else "stop")


@dataclass
class Shape:
    """Builds the documents of one response: chat or text completion, whole or streamed."""

    kind: Literal["chat", "text"]
    model: str
    id: str = field(default="")
    created: int = field(default_factory=lambda: int(time.time()))

    def __post_init__(self) -> None:
        if not self.id:
            prefix = "chatcmpl" if self.kind == "chat" else "cmpl"
            self.id = f"{prefix}-{uuid.uuid4().hex}"

    def _doc(self, obj: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model,
                "choices": choices}

    def whole(self, completion: Completion) -> dict[str, Any]:
        """The non-streaming response document."""
        finish = _finish(completion.finish_reason)
        if self.kind == "chat":
            message: dict[str, Any] = {"role": "assistant", "content": completion.text}
            if completion.reasoning is not None:
                message["reasoning_content"] = completion.reasoning
            choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            doc = self._doc("chat.completion", [choice])
        else:
            choice = {"index": 0, "text": completion.text, "finish_reason": finish,
                      "logprobs": None}
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

    def delta(self, chunk: Chunk, include_usage: bool) -> dict[str, Any] | None:
        """The stream event of a chunk, or None when it carries nothing to send."""
        finish = _finish(chunk.finish_reason)
        if not chunk.text and not chunk.reasoning and finish is None:
            return None
        if self.kind == "chat":
            delta: dict[str, Any] = {}
            if chunk.text:
                delta["content"] = chunk.text
            if chunk.reasoning:
                delta["reasoning_content"] = chunk.reasoning
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            doc = self._doc("chat.completion.chunk", [choice])
        else:
            choice = {"index": 0, "text": chunk.text, "finish_reason": finish, "logprobs": None}
            doc = self._doc("text_completion", [choice])
        if finish is not None and include_usage:
            doc["usage"] = usage_dict(chunk.usage)
        return doc
