"""Ollama request bodies as pydantic models; unknown fields (and options) are ignored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatRequest",
    "GenerateRequest",
    "OllamaMessage",
    "OllamaTool",
    "OllamaToolCall",
    "Options",
    "ShowRequest",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class Options(_Wire):
    """The ``options`` that map to sampling; the rest (``num_ctx``, ``num_gpu``...) are ignored."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    num_predict: int | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    repeat_penalty: float | None = None


class CallFunction(_Wire):
    """A call's function: its name and arguments (an object, or JSON text)."""

    name: str
    arguments: dict[str, Any] | str | None = None


class OllamaToolCall(_Wire):
    """A tool call in an assistant message of the history."""

    id: str | None = None
    function: CallFunction


class OllamaMessage(_Wire):
    """A chat message; a ``tool`` message may name its tool (``tool_name``) or call id."""

    role: str
    content: str | None = None
    images: list[Any] | None = None
    tool_calls: list[OllamaToolCall] | None = None
    tool_name: str | None = None
    tool_call_id: str | None = None


class FunctionSpec(_Wire):
    """A tool's function: name, description and the JSON schema of its parameters."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class OllamaTool(_Wire):
    """``{"type": "function", "function": {...}}``."""

    type: str = "function"
    function: FunctionSpec


class _Generation(_Wire):
    model: str = Field(min_length=1, max_length=512)
    stream: bool = True
    format: str | dict[str, Any] | None = None
    options: Options | None = None
    keep_alive: Any = None
    think: bool | str | None = None


class ChatRequest(_Generation):
    """``POST /api/chat`` body; no messages only loads (or, with keep_alive 0, unloads)."""

    messages: list[OllamaMessage] = Field(default_factory=list)
    tools: list[OllamaTool] | None = None


class GenerateRequest(_Generation):
    """``POST /api/generate`` body; an empty prompt only loads (or unloads) the model."""

    prompt: str = ""
    system: str | None = None
    raw: bool = False
    suffix: str | None = None
    template: str | None = None
    context: list[int] | None = None
    images: list[Any] | None = None


class ShowRequest(_Wire):
    """``POST /api/show`` body (older clients send ``name``)."""

    model: str | None = Field(default=None, max_length=512)
    name: str | None = Field(default=None, max_length=512)
