"""Anthropic Messages request bodies as pydantic models; unknown fields are accepted and ignored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AnthropicMessage",
    "AnthropicTool",
    "Block",
    "CountTokensRequest",
    "MessagesRequest",
    "OutputConfig",
    "ThinkingConfig",
    "ToolChoiceIn",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class Block(_Wire):
    """A content block: ``text``, ``tool_use``, ``tool_result``, ``thinking`` (others refused)."""

    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None
    tool_use_id: str | None = None
    content: str | list[Block] | None = None
    is_error: bool | None = None


class AnthropicMessage(_Wire):
    """One turn: a user or assistant message with text or blocks."""

    role: str
    content: str | list[Block]


class AnthropicTool(_Wire):
    """A client tool: name, description and the JSON schema of its input."""

    name: str
    description: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    type: str | None = None


class ToolChoiceIn(_Wire):
    """``{"type": "auto" | "any" | "tool" | "none", "name"?, "disable_parallel_tool_use"?}``."""

    type: str
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class ThinkingConfig(_Wire):
    """``{"type": "enabled" | "adaptive" | "disabled", "budget_tokens"?}``."""

    type: str
    budget_tokens: int | None = None


class OutputFormat(_Wire):
    """``{"type": "json_schema", "schema": {...}}``."""

    type: str
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")


class OutputConfig(_Wire):
    """``output_config``: only ``format`` is read."""

    format: OutputFormat | None = None


class CountTokensRequest(_Wire):
    """``POST /v1/messages/count_tokens`` body."""

    model: str = Field(min_length=1, max_length=512)
    messages: list[AnthropicMessage] = Field(min_length=1)
    system: str | list[Block] | None = None
    tools: list[AnthropicTool] | None = None
    tool_choice: ToolChoiceIn | None = None
    thinking: ThinkingConfig | None = None
    output_config: OutputConfig | None = None


class MessagesRequest(CountTokensRequest):
    """``POST /v1/messages`` body (``max_tokens`` is required, as Anthropic requires it)."""

    max_tokens: int
    stop_sequences: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stream: bool = False
    metadata: Any = None
