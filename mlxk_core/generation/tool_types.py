"""Function tools in OpenAI's Chat Completions shape: the tools, the choice, and the calls made."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mlxk_core.errors import InvalidRequest

__all__ = ["NamedToolChoice", "Tool", "ToolCall", "ToolChoice", "new_call_id"]

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_name(name: object, *, what: str, param: str) -> None:
    """Raise InvalidRequest unless ``name`` is 1-64 letters, digits, ``_`` or ``-`` (as OpenAI)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidRequest(
            f"{what} name {name!r} is invalid",
            param=param,
            hint="use 1-64 letters, digits, underscores or dashes",
        )


def new_call_id() -> str:
    """A fresh tool-call id in OpenAI's style: ``call_`` and 24 hex digits."""
    return "call_" + secrets.token_hex(12)


@dataclass(frozen=True)
class Tool:
    """A function the model may call; ``parameters`` is a JSON schema of its arguments object."""

    name: str
    description: str | None = None
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}, hash=False
    )

    def __post_init__(self) -> None:
        check_name(self.name, what="Function", param="tools")
        if self.description is not None and not isinstance(self.description, str):
            raise InvalidRequest("A tool description must be text", param="tools")
        if not isinstance(self.parameters, Mapping):
            raise InvalidRequest(
                f"The parameters of tool '{self.name}' must be a JSON schema object",
                param="tools",
            )

    def as_dict(self) -> dict[str, Any]:
        """OpenAI's shape, as chat templates and mlx-lm's tool parsers expect it."""
        function: dict[str, Any] = {"name": self.name}
        if self.description is not None:
            function["description"] = self.description
        function["parameters"] = dict(self.parameters)
        return {"type": "function", "function": function}


@dataclass(frozen=True)
class NamedToolChoice:
    """``tool_choice`` naming one function: the model must call exactly that one."""

    name: str

    def __post_init__(self) -> None:
        check_name(self.name, what="Function", param="tool_choice")


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice
TOOL_CHOICES = ("auto", "none", "required")


@dataclass(frozen=True)
class ToolCall:
    """A call the model made (or made earlier, in the history); ``arguments`` is JSON text."""

    name: str
    arguments: str = "{}"
    id: str = field(default_factory=new_call_id)

    def __post_init__(self) -> None:
        check_name(self.name, what="Function", param="messages")
        if not isinstance(self.id, str) or not self.id:
            raise InvalidRequest("A tool call needs a non-empty id", param="messages")
        if not isinstance(self.arguments, str):
            raise InvalidRequest("Tool-call arguments must be JSON text", param="messages")
        if not self.arguments.strip():
            object.__setattr__(self, "arguments", "{}")
        if not isinstance(self.parsed_arguments(), dict):
            raise InvalidRequest(
                f"The arguments of the call to '{self.name}' are not a JSON object",
                param="messages",
            )

    def parsed_arguments(self) -> Any:
        """The arguments as a Python value (raises InvalidRequest if they are not JSON)."""
        try:
            return json.loads(self.arguments)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(
                f"The arguments of the call to '{self.name}' are not valid JSON: {exc}",
                param="messages",
            ) from exc

    def as_dict(self) -> dict[str, Any]:
        """The call as chat templates expect it in an assistant message (arguments parsed)."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.parsed_arguments()},
        }
