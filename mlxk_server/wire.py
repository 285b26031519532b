"""OpenAI request bodies as pydantic models; unknown fields are accepted and ignored."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatCompletionRequest",
    "ChatMessageIn",
    "CompletionRequest",
    "ContentPart",
    "FunctionCallIn",
    "FunctionIn",
    "NamedChoiceIn",
    "ResponseFormatIn",
    "StreamOptions",
    "ToolCallIn",
    "ToolIn",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class ContentPart(_Wire):
    """One part of a message's content; only text parts are supported."""

    type: str
    text: str | None = None


class FunctionCallIn(_Wire):
    """The function an assistant message called: its name and JSON arguments."""

    name: str
    arguments: str = "{}"


class ToolCallIn(_Wire):
    """A tool call in an assistant message of the history."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessageIn(_Wire):
    """A chat message as clients send it (tool calls and tool results included)."""

    role: str
    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None


class FunctionIn(_Wire):
    """A function the model may call: name, description, JSON-schema parameters."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolIn(_Wire):
    """A tool offered to the model (function tools only)."""

    type: Literal["function"]
    function: FunctionIn


class _NamedFunction(_Wire):
    name: str


class NamedChoiceIn(_Wire):
    """``tool_choice`` naming one function."""

    type: Literal["function"]
    function: _NamedFunction


class _JsonSchemaIn(_Wire):
    name: str
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None
    description: str | None = None


class ResponseFormatIn(_Wire):
    """``response_format``: text, any JSON object, or JSON that follows a schema."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: _JsonSchemaIn | None = None


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
    tools: list[ToolIn] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedChoiceIn | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormatIn | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None


class CompletionRequest(_Sampling):
    """``POST /v1/completions`` body."""

    prompt: str | list[str]
    echo: Literal[False] | None = None
    logprobs: int | None = None
