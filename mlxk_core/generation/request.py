"""Generation requests: chat messages or a raw prompt, tools, a response format, parameters."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mlxk_core.errors import InvalidRequest
from mlxk_core.generation.tool_types import (
    TOOL_CHOICES,
    NamedToolChoice,
    Tool,
    ToolCall,
    ToolChoice,
    check_name,
)

__all__ = [
    "ChatMessage",
    "GenerationParams",
    "GenerationRequest",
    "ResponseFormat",
    "ResponseFormatType",
    "Role",
]

Role = Literal["system", "user", "assistant", "tool"]
_ROLES = ("system", "user", "assistant", "tool")
ResponseFormatType = Literal["text", "json_object", "json_schema"]
MAX_TOP_LOGPROBS = 20


@dataclass(frozen=True)
class ChatMessage:
    """One chat turn: an assistant turn may carry ``tool_calls``, a ``tool`` turn answers one."""

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise InvalidRequest(
                f"Unknown role '{self.role}'",
                param="messages",
                hint="use system, user, assistant or tool",
            )
        if not isinstance(self.content, str):
            raise InvalidRequest("Message content must be text", param="messages")
        calls = tuple(self.tool_calls)
        object.__setattr__(self, "tool_calls", calls)
        if calls and (self.role != "assistant" or not all(isinstance(c, ToolCall) for c in calls)):
            raise InvalidRequest("Only assistant messages carry tool calls", param="messages")
        if (self.role == "tool") != (self.tool_call_id is not None):
            raise InvalidRequest(
                "A tool message needs the tool_call_id it answers (and only a tool message)",
                param="messages",
            )
        if self.tool_call_id is not None and (
            not isinstance(self.tool_call_id, str) or not self.tool_call_id
        ):
            raise InvalidRequest("tool_call_id must be a non-empty string", param="messages")

    def as_dict(self) -> dict[str, Any]:
        """The message as chat templates expect it (tool-call arguments parsed into objects)."""
        message: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.as_dict() for call in self.tool_calls]
        if self.tool_call_id is not None:
            message["tool_call_id"] = self.tool_call_id
        return message


@dataclass(frozen=True)
class ResponseFormat:
    """What the answer must be: free text, any JSON object, or JSON valid for ``schema``.

    Constrained decoding always enforces a JSON format; ``strict`` is carried for the wire.
    """

    type: ResponseFormatType = "text"
    schema: Mapping[str, Any] | None = field(default=None, hash=False)
    name: str | None = None
    strict: bool = False

    def __post_init__(self) -> None:
        if self.type not in ("text", "json_object", "json_schema"):
            raise InvalidRequest(
                f"Unknown response_format type {self.type!r}",
                param="response_format",
                hint="use text, json_object or json_schema",
            )
        if self.type == "json_schema":
            if not isinstance(self.schema, Mapping):
                raise InvalidRequest(
                    "A json_schema response format needs a schema object",
                    param="response_format",
                )
            check_name(self.name, what="Response format", param="response_format")
        elif self.schema is not None:
            raise InvalidRequest(
                f"A {self.type} response format takes no schema", param="response_format"
            )


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not isinstance(value, (int, float)) or math.isnan(value) or not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low} and {high}, got {value!r}", param=name)


@dataclass(frozen=True)
class GenerationParams:
    """Sampling and stopping parameters; ``temperature == 0`` means greedy.

    ``logprobs`` / ``top_logprobs`` live here, not on the request, because they are read where
    the token is sampled: the backend gets these parameters for every sequence it decodes.
    """

    max_tokens: int | None = None
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    repetition_penalty: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = field(default=())
    logprobs: bool = False
    top_logprobs: int = 0

    def __post_init__(self) -> None:
        if self.max_tokens is not None and (
            isinstance(self.max_tokens, bool)
            or not isinstance(self.max_tokens, int)
            or self.max_tokens < 1
        ):
            raise InvalidRequest(
                f"max_tokens must be a positive integer, got {self.max_tokens!r}",
                param="max_tokens",
            )
        _check_range("temperature", self.temperature, 0.0, 100.0)
        _check_range("top_p", self.top_p, 0.0, 1.0)
        _check_range("min_p", self.min_p, 0.0, 1.0)
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 0:
            raise InvalidRequest(f"top_k must be >= 0, got {self.top_k!r}", param="top_k")
        if self.repetition_penalty is not None:
            _check_range("repetition_penalty", self.repetition_penalty, 0.01, 100.0)
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise InvalidRequest(f"seed must be an integer, got {self.seed!r}", param="seed")
        stops = tuple(self.stop)
        if any(not isinstance(s, str) for s in stops):
            raise InvalidRequest("stop must be a string or a list of strings", param="stop")
        object.__setattr__(self, "stop", tuple(s for s in stops if s))
        self._check_logprobs()

    def _check_logprobs(self) -> None:
        if not isinstance(self.logprobs, bool):
            raise InvalidRequest("logprobs must be true or false", param="logprobs")
        top = self.top_logprobs
        if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= MAX_TOP_LOGPROBS:
            raise InvalidRequest(
                f"top_logprobs must be an integer from 0 to {MAX_TOP_LOGPROBS}, got {top!r}",
                param="top_logprobs",
            )
        if top and not self.logprobs:
            raise InvalidRequest(
                "top_logprobs needs logprobs", param="top_logprobs", hint="set logprobs to true"
            )


@dataclass(frozen=True)
class GenerationRequest:
    """Exactly one of ``messages`` (chat) or ``prompt`` (raw completion), with parameters.

    ``tools`` (chat only) go to the chat template; ``tool_choice`` ``"required"`` or a
    :class:`NamedToolChoice` forces a call, ``"none"`` forbids one. ``response_format`` asks for
    JSON. Both are enforced by constrained decoding (:mod:`mlxk_core.generation.constrained`).
    """

    messages: tuple[ChatMessage, ...] | None = None
    prompt: str | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    response_format: ResponseFormat | None = None

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise InvalidRequest("Give either messages or a prompt", param="messages")
        if self.messages is not None:
            object.__setattr__(self, "messages", tuple(self.messages))
            if not self.messages:
                raise InvalidRequest("messages must not be empty", param="messages")
        if self.response_format is not None and not isinstance(
            self.response_format, ResponseFormat
        ):
            raise InvalidRequest(
                "response_format must be a ResponseFormat", param="response_format"
            )
        self._check_tools()

    def _check_tools(self) -> None:
        tools = tuple(self.tools)
        object.__setattr__(self, "tools", tools)
        if not all(isinstance(t, Tool) for t in tools):
            raise InvalidRequest("tools must be Tool values", param="tools")
        names = [t.name for t in tools]
        if len(set(names)) != len(names):
            raise InvalidRequest("Two tools share a name", param="tools")
        if tools and self.messages is None:
            raise InvalidRequest(
                "Tools need a chat request (messages), not a raw prompt", param="tools"
            )
        if not isinstance(self.parallel_tool_calls, bool):
            raise InvalidRequest(
                "parallel_tool_calls must be true or false", param="parallel_tool_calls"
            )
        choice = self.tool_choice
        if not isinstance(choice, NamedToolChoice) and choice not in TOOL_CHOICES:
            raise InvalidRequest(
                f"Unknown tool_choice {choice!r}",
                param="tool_choice",
                hint="use auto, none, required or a named function",
            )
        if (choice == "required" or isinstance(choice, NamedToolChoice)) and not tools:
            raise InvalidRequest("tool_choice needs tools to choose from", param="tool_choice")
        if isinstance(choice, NamedToolChoice) and choice.name not in names:
            raise InvalidRequest(
                f"tool_choice names '{choice.name}', which is not among the tools",
                param="tool_choice",
            )

    @property
    def forces_tool_call(self) -> bool:
        """Whether the answer must be a tool call (``required`` or a named function)."""
        return bool(self.tools) and self.tool_choice not in ("auto", "none")

    @classmethod
    def chat(
        cls,
        messages: Iterable[ChatMessage | tuple[Role, str]],
        *,
        tools: Iterable[Tool] = (),
        tool_choice: ToolChoice = "auto",
        parallel_tool_calls: bool = True,
        response_format: ResponseFormat | None = None,
        **params: object,
    ) -> GenerationRequest:
        """A chat request from messages (or ``(role, content)`` pairs) and parameter values."""
        msgs = tuple(m if isinstance(m, ChatMessage) else ChatMessage(*m) for m in messages)
        return cls(
            messages=msgs,
            params=GenerationParams(**params),  # type: ignore[arg-type]
            tools=tuple(tools),
            tool_choice=tool_choice,
            parallel_tool_calls=parallel_tool_calls,
            response_format=response_format,
        )

    @classmethod
    def completion(
        cls, prompt: str, *, response_format: ResponseFormat | None = None, **params: object
    ) -> GenerationRequest:
        """A raw-prompt request."""
        return cls(
            prompt=prompt,
            params=GenerationParams(**params),  # type: ignore[arg-type]
            response_format=response_format,
        )
