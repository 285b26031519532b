"""OpenAI request bodies to core requests (chat and text completions)."""

from __future__ import annotations

from typing import Any

from mlxk_core import (
    ChatMessage,
    GenerationParams,
    GenerationRequest,
    InvalidRequest,
    NamedToolChoice,
    ResponseFormat,
    Tool,
    ToolCall,
)
from mlxk_server.errors import ApiError
from mlxk_server.wire import (
    ChatCompletionRequest,
    ChatMessageIn,
    CompletionRequest,
    ResponseFormatIn,
)

__all__ = ["response_format", "to_core"]

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
        if role not in ("system", "user", "assistant", "tool"):
            raise ApiError(
                400, f"Unknown role {msg.role[:40]!r}: use system, user, assistant or tool",
                param=f"messages[{i}].role",
            )
        calls = tuple(
            ToolCall(c.function.name, c.function.arguments, c.id) for c in msg.tool_calls or ()
        )
        out.append(ChatMessage(role, _text(msg, i), tool_calls=calls,  # type: ignore[arg-type]
                               tool_call_id=msg.tool_call_id))
    return tuple(out)


def _tools(body: ChatCompletionRequest) -> dict[str, Any]:
    """The request's tools, tool choice and response format as core values."""
    values: dict[str, Any] = {}
    if body.tools:
        values["tools"] = tuple(
            Tool(t.function.name, t.function.description,
                 t.function.parameters or {"type": "object", "properties": {}})
            for t in body.tools
        )
    choice = body.tool_choice
    if choice is not None:
        values["tool_choice"] = choice if isinstance(choice, str) else NamedToolChoice(
            choice.function.name)
    if body.parallel_tool_calls is not None:
        values["parallel_tool_calls"] = body.parallel_tool_calls
    return values


def response_format(wire: ResponseFormatIn | None) -> ResponseFormat | None:
    """The core response format of OpenAI's ``response_format`` (None: free text)."""
    if wire is None or wire.type == "text":
        return None
    if wire.type == "json_object":
        return ResponseFormat("json_object")
    spec = wire.json_schema
    if spec is None:
        raise ApiError(400, "A json_schema response_format needs its json_schema object",
                       param="response_format.json_schema")
    return ResponseFormat("json_schema", spec.schema_ or {}, spec.name, bool(spec.strict))


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
    if isinstance(body, ChatCompletionRequest):
        values["logprobs"] = bool(body.logprobs)
        values["top_logprobs"] = body.top_logprobs or 0
    elif body.logprobs is not None:
        values["logprobs"], values["top_logprobs"] = True, body.logprobs
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
            return GenerationRequest(
                messages=_messages(body), params=params, **_tools(body),
                response_format=response_format(body.response_format),
            )
        return GenerationRequest(prompt=_prompt(body), params=params)
    except InvalidRequest as exc:
        raise ApiError(400, exc.message, param=exc.param, code=exc.code) from None
