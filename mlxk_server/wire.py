"""OpenAI request bodies as pydantic models; unknown fields are accepted and ignored."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatCompletionRequest",
    "ChatMessageIn",
    "CompletionRequest",
    "ContentPart",
    "StreamOptions",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class ContentPart(_Wire):
    """One part of a message's content; only text parts are supported."""

    type: str
    text: str | None = None


class ChatMessageIn(_Wire):
    """A chat message as clients send it."""

    role: str
    content: str | list[ContentPart] | None = None


class StreamOptions(_Wire):
    """Streaming options; ``include_usage`` adds usage to the last event."""

    include_usage: bool = False


class _Sampling(_Wire):
    model: str = Field(min_length=1, max_length=512)
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = 1
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    user: Any = None


class ChatCompletionRequest(_Sampling):
    """``POST /v1/chat/completions`` body."""

    messages: list[ChatMessageIn] = Field(min_length=1)
    max_completion_tokens: int | None = None


class CompletionRequest(_Sampling):
    """``POST /v1/completions`` body."""

    prompt: str | list[str]
    echo: Literal[False] | None = None
