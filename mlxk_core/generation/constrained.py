"""Constrained decoding: JSON answers and forced tool calls, compiled by llguidance.

:func:`request_grammar` turns a request's ``response_format`` and ``tool_choice`` into one
llguidance grammar (checked, so a schema llguidance cannot compile is an InvalidRequest).
A :class:`GrammarCompiler`, built once per loaded model from its Hugging Face tokenizer, makes a
fresh :class:`GrammarMatcher` per sequence: ``allowed_mask()`` over the vocabulary before each
token, ``advance(token)`` after it. The backend applies the mask to the logits
(``mlxk_core.backends.masking``); this module is pure Python and numpy.

Whitespace is bounded: JSON is written compactly (``", "`` and ``": "`` separators, no other
whitespace), so a constrained answer cannot pad itself out forever. A forced call is written in
the model's own markup, e.g. ``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``,
at most :data:`MAX_PARALLEL_CALLS` of them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping
from copy import copy
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from mlxk_core.errors import GenerationError, InvalidRequest
from mlxk_core.generation.request import GenerationRequest, ResponseFormat
from mlxk_core.generation.tool_types import NamedToolChoice, Tool
from mlxk_core.generation.tools import ToolFormat

__all__ = [
    "JSON_OPTIONS",
    "MAX_PARALLEL_CALLS",
    "GrammarCompiler",
    "GrammarMatcher",
    "TokenMatcher",
    "request_grammar",
]

log = logging.getLogger("mlxk")

JSON_OPTIONS: dict[str, Any] = {
    "whitespace_flexible": False,
    "item_separator": ", ",
    "key_separator": ": ",
}
MAX_PARALLEL_CALLS = 8


class TokenMatcher(Protocol):
    """Per-sequence constraint state: which tokens may come next, and the tokens that came."""

    def allowed_mask(self) -> NDArray[np.bool_]:
        """A bool per token id of the tokenizer: True where the token may come next."""

    def advance(self, token: int) -> None:
        """Accept the sampled token (GenerationError if the constraint forbids it)."""

    def is_done(self) -> bool:
        """Whether the output is complete: only an end-of-sequence token may follow."""


def _json(schema: Mapping[str, Any]) -> str:
    """A lark ``%json`` item with mlxk's whitespace rules (they replace any ``x-guidance``)."""
    return "%json " + json.dumps({**schema, "x-guidance": JSON_OPTIONS})


def _marker(text: str, special_tokens: Collection[str]) -> str:
    """A marker as lark: a special token by name, otherwise a string literal."""
    token = text in special_tokens and text.startswith("<") and text.endswith(">")
    return text if token else json.dumps(text)


def _arguments_schema(tool: Tool) -> dict[str, Any]:
    schema = dict(tool.parameters)
    if schema.setdefault("type", "object") != "object":
        raise InvalidRequest(
            f"The parameters of tool '{tool.name}' must be an object schema", param="tools"
        )
    return schema


def _calls_rules(
    request: GenerationRequest, tool_format: ToolFormat | None, special_tokens: Collection[str]
) -> str:
    """Lark rules for ``calls``: one (or up to MAX_PARALLEL_CALLS) calls in the model's markup."""
    if tool_format is None or not tool_format.json_body or not tool_format.end:
        name = tool_format.parser if tool_format else "none"
        raise InvalidRequest(
            f"This model's tool-call format ({name}) cannot be enforced",
            param="tool_choice",
            hint='use tool_choice "auto"',
        )
    choice = request.tool_choice
    named = choice.name if isinstance(choice, NamedToolChoice) else None
    tools = [t for t in request.tools if named in (None, t.name)]
    variants = [
        {
            "type": "object",
            "properties": {"name": {"const": t.name}, "arguments": _arguments_schema(t)},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    body = variants[0] if len(variants) == 1 else {"anyOf": variants}
    start = _marker(tool_format.start, special_tokens)
    end = _marker(tool_format.end, special_tokens)
    repeat = f'("\\n" call){{0,{MAX_PARALLEL_CALLS - 1}}}' if request.parallel_tool_calls else ""
    return f'calls: call {repeat}\ncall: {start} "\\n" {_json(body)} "\\n" {end}\n'


def _answer_rule(response_format: ResponseFormat | None) -> str | None:
    if response_format is None or response_format.type == "text":
        return None
    schema = response_format.schema if response_format.type == "json_schema" else None
    return "answer: " + _json(schema if schema is not None else {"type": "object"}) + "\n"


def request_grammar(
    request: GenerationRequest,
    tool_format: ToolFormat | None = None,
    special_tokens: Collection[str] = (),
) -> str | None:
    """The llguidance grammar the request's output must follow; None when it is free text.

    A forced tool call (``required`` or a named function) wins over ``response_format``; with
    ``tool_choice="auto"``, tools and a JSON format, the output is a call or the JSON answer.
    ``special_tokens`` (the model's added tokens) are how markers become single tokens.
    """
    answer = _answer_rule(request.response_format)
    may_call = (
        request.tools
        and request.tool_choice != "none"
        and tool_format is not None
        and tool_format.json_body
    )
    if request.forces_tool_call:
        calls = _calls_rules(request, tool_format, special_tokens)
        return _checked("start: calls\n" + calls, "tools")
    if answer is None:
        return None
    if may_call:
        calls = _calls_rules(request, tool_format, special_tokens)
        return _checked("start: calls | answer\n" + answer + calls, "response_format")
    return _checked("start: answer\n" + answer, "response_format")


def _checked(lark: str, param: str) -> str:
    from llguidance import LLMatcher

    try:
        grammar = LLMatcher.grammar_from_lark(lark)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"The {param} cannot be compiled: {exc}", param=param) from exc
    failed, messages = LLMatcher.validate_grammar_with_warnings(grammar)
    if failed:
        raise InvalidRequest(
            f"The {param} cannot be compiled: {messages[0]}",
            param=param,
            hint="mlxk enforces JSON schemas with llguidance; drop or rewrite that keyword",
        )
    for message in messages:
        if "no tokenizer" not in message:  # special tokens are checked against the model later
            log.warning("Constraint for %s: %s", param, message)
    return grammar


class GrammarMatcher:
    """llguidance's matcher for one sequence, with its mask as a numpy bool array."""

    def __init__(self, matcher: Any, vocab_size: int) -> None:
        from llguidance.numpy import allocate_token_bitmask

        self._matcher = matcher
        self._vocab_size = vocab_size
        self._bitmask = allocate_token_bitmask(1, vocab_size)

    def allowed_mask(self) -> NDArray[np.bool_]:
        """A bool per token id: True where the token may come next."""
        from llguidance.numpy import fill_next_token_bitmask

        fill_next_token_bitmask(self._matcher, self._bitmask)
        bits = np.unpackbits(self._bitmask.view(np.uint8), bitorder="little")
        return bits[: self._vocab_size].astype(np.bool_)

    def advance(self, token: int) -> None:
        """Accept the sampled token."""
        if not self._matcher.consume_token(token):
            raise GenerationError(
                f"Token {token} breaks the output constraint: {self._matcher.get_error()}"
            )

    def is_done(self) -> bool:
        """Whether only an end-of-sequence token may follow."""
        return bool(self._matcher.is_stopped())


class GrammarCompiler:
    """Makes matchers for one tokenizer. Building it reads the whole vocabulary (up to a second
    for large ones): build it once per loaded model and share it between sequences."""

    def __init__(self, tokenizer: Any, *, eos_token_ids: Iterable[int]) -> None:
        """``tokenizer``: a Hugging Face fast tokenizer, or a wrapper that forwards
        ``backend_tokenizer`` to one (mlx-lm's TokenizerWrapper)."""
        import llguidance

        backend = copy(tokenizer.backend_tokenizer)  # as llguidance.hf does, without padding
        backend.no_padding()
        backend.no_truncation()
        eos = sorted(set(eos_token_ids))
        self._tokenizer = llguidance.LLTokenizer(backend.to_str(), eos_token=eos or None)
        self.vocab_size: int = self._tokenizer.vocab_size

    def matcher(self, grammar: str) -> GrammarMatcher:
        """A fresh matcher for one sequence (InvalidRequest if the grammar does not fit)."""
        from llguidance import LLMatcher

        matcher = LLMatcher(self._tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise InvalidRequest(
                f"The output constraint cannot be used with this model: {matcher.get_error()}"
            )
        return GrammarMatcher(matcher, self.vocab_size)

    def token_bytes(self, token: int) -> bytes:
        """The bytes token ``token`` stands for (for logprobs: it may be part of a character)."""
        return bytes(self._tokenizer.decode_bytes([token]))
