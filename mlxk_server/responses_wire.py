"""OpenAI Responses request bodies as pydantic models; unknown fields are accepted and ignored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FunctionTool",
    "InputItem",
    "Part",
    "ResponsesRequest",
    "TextConfig",
    "TextFormat",
    "ToolChoiceObject",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class Part(_Wire):
    """A content part: ``input_text`` / ``output_text`` / ``text`` (others are refused)."""

    type: str
    text: str | None = None


class InputItem(_Wire):
    """An input item: a message (``role``), a ``function_call`` or a ``function_call_output``."""

    type: str | None = None
    role: str | None = None
    content: str | list[Part] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | list[Part] | None = None


class FunctionTool(_Wire):
    """A tool; only ``{"type": "function", "name", "description", "parameters"}`` is served."""

    type: str
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolChoiceObject(_Wire):
    """``{"type": "function", "name": ...}``."""

    type: str
    name: str | None = None


class TextFormat(_Wire):
    """``text.format``: ``text``, ``json_object`` or ``json_schema`` (with name and schema)."""

    type: str
    name: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class TextConfig(_Wire):
    """``text``: only ``format`` is read."""

    format: TextFormat | None = None


class ResponsesRequest(_Wire):
    """``POST /v1/responses`` body."""

    model: str = Field(min_length=1, max_length=512)
    input: str | list[InputItem]
    instructions: str | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: str | ToolChoiceObject | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    text: TextConfig | None = None
    store: bool | None = None
    previous_response_id: str | None = None
    conversation: Any = None
    stream: bool = False
    metadata: dict[str, Any] | None = None
