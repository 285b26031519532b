"""Separate a model's tool-call markup from its answer text, streaming, and parse each call.

A model writes a call as ``start`` marker, body, ``end`` marker (Qwen/Hermes:
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``); an empty ``end`` means the call
runs to the end of the output. The body parsers are mlx-lm's (``mlx_lm.tool_parsers``): the
backend hands them over in a :class:`ToolFormat`, so this module stays free of mlx.

Markup never reaches the answer text; whitespace between the answer and a call is dropped. A
call that does not parse (or names an unknown tool) is a model error, not a request error: its
raw text becomes answer text and a warning is logged on the ``mlxk`` logger.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mlxk_core.errors import InvalidRequest
from mlxk_core.generation.tool_types import Tool, ToolCall

__all__ = ["ToolCallExtractor", "ToolFormat", "ToolOutput", "ToolParser", "renders_tools"]

log = logging.getLogger("mlxk")

ToolParser = Callable[[str, Any], Any]
"""mlx-lm's ``parse_tool_call(text, tools)``: a call dict (or a list of them) from a body."""

_WARN_CHARS = 200  # how much of a garbled call the warning quotes
_TOOLS_VARIABLE = re.compile(r"\{[{%][^}]*\btools\b")


def renders_tools(chat_template: str | None) -> bool:
    """Whether a chat template renders the ``tools`` a request offers (uses the variable)."""
    return bool(chat_template and _TOOLS_VARIABLE.search(chat_template))


@dataclass(frozen=True)
class ToolFormat:
    """How a model writes tool calls: mlx-lm's parser name, the markers, the body parser."""

    parser: str
    start: str
    end: str
    parse: ToolParser = field(compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.start:
            raise ValueError("A tool format needs a start marker")

    @property
    def json_body(self) -> bool:
        """Whether a call's body is ``{"name": ..., "arguments": {...}}`` JSON (forcible)."""
        return self.parser == "json_tools"


@dataclass(frozen=True)
class ToolOutput:
    """What some model output turned into: answer text and the tool calls completed in it."""

    text: str = ""
    calls: tuple[ToolCall, ...] = ()


def _partial_tail(text: str, marker: str) -> int:
    """Where the longest tail of ``text`` that is a proper prefix of ``marker`` starts."""
    for start in range(max(0, len(text) - len(marker) + 1), len(text)):
        if marker.startswith(text[start:]):
            return start
    return len(text)


def _to_call(item: Any, known: set[str]) -> ToolCall:
    """A ToolCall from one parsed item; ValueError when it is not a usable call."""
    if not isinstance(item, Mapping):
        raise ValueError(f"the parser returned {type(item).__name__}, not a call")
    name, arguments, call_id = item.get("name"), item.get("arguments", {}), item.get("id")
    if not isinstance(name, str) or (known and name not in known):
        raise ValueError(f"the model called an unknown tool {name!r}")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    try:
        if isinstance(call_id, str) and call_id:
            return ToolCall(name, arguments, call_id)
        return ToolCall(name, arguments)
    except InvalidRequest as exc:
        raise ValueError(exc.message) from exc


class ToolCallExtractor:
    """Incremental splitter: ``feed`` text pieces, get answer text and complete calls; ``finish``.

    ``tools`` are passed to the parser (some parsers read argument types from them) and bound
    the names a call may use. With ``parallel=False`` only the first call is kept.
    """

    def __init__(
        self, tool_format: ToolFormat, tools: Sequence[Tool] = (), *, parallel: bool = True
    ) -> None:
        self._format = tool_format
        self._declared = tuple(tools)
        self._tools = [tool.as_dict() for tool in tools] or None
        self._known = {tool.name for tool in tools}
        self._parallel = parallel
        self._mode: Literal["text", "call"] = "text"
        self._pending = ""  # a possible marker start, held back
        self._held_space = ""  # trailing whitespace: dropped if a call follows
        self._space_before_call = ""
        self._body = ""
        self._after_call = False  # drop the whitespace that follows a call
        self.calls_made = 0

    def extract(self, text: str) -> ToolOutput:
        """Split a whole text; independent of this extractor's stream state."""
        parser = ToolCallExtractor(self._format, self._declared, parallel=self._parallel)
        first, last = parser.feed(text), parser.finish()
        return ToolOutput(first.text + last.text, first.calls + last.calls)

    def feed(self, piece: str) -> ToolOutput:
        """Add streamed text; return what it completes, holding back partial markers."""
        text: list[str] = []
        calls: list[ToolCall] = []
        buffer = self._pending + piece
        start, end = self._format.start, self._format.end
        while buffer:
            if self._mode == "text":
                pos = buffer.find(start)
                if pos < 0:
                    cut = _partial_tail(buffer, start)
                    self._text(buffer[:cut], text)
                    buffer = buffer[cut:]
                    break
                self._text(buffer[:pos], text)
                self._space_before_call, self._held_space = self._held_space, ""
                self._mode, self._body = "call", ""
                buffer = buffer[pos + len(start) :]
            elif not end:
                self._body += buffer
                buffer = ""
            else:
                pos = buffer.find(end)
                if pos < 0:
                    cut = _partial_tail(buffer, end)
                    self._body += buffer[:cut]
                    buffer = buffer[cut:]
                    break
                self._body += buffer[:pos]
                self._close_call(end, text, calls)
                buffer = buffer[pos + len(end) :]
        self._pending = buffer
        return ToolOutput("".join(text), tuple(calls))

    def finish(self) -> ToolOutput:
        """End of output: parse an unterminated call, release held-back text."""
        text: list[str] = []
        calls: list[ToolCall] = []
        pending, self._pending = self._pending, ""
        if self._mode == "call":
            self._body += pending
            self._close_call("", text, calls)
        else:
            self._text(pending, text)
        text.append(self._held_space)
        self._held_space = ""
        return ToolOutput("".join(text), tuple(calls))

    def _text(self, piece: str, out: list[str]) -> None:
        if self._after_call:
            piece = piece.lstrip()
            if not piece:
                return
            self._after_call = False
        piece = self._held_space + piece
        kept = piece.rstrip()
        self._held_space = piece[len(kept) :]
        if kept:
            out.append(kept)

    def _close_call(self, end: str, text: list[str], calls: list[ToolCall]) -> None:
        body, self._body, self._mode = self._body, "", "text"
        try:
            parsed = self._format.parse(body, self._tools)
            items = parsed if isinstance(parsed, list) else [parsed]
            if not items:
                raise ValueError("the parser found no call")
            found = [_to_call(item, self._known) for item in items]
        except Exception as exc:  # a third-party parser may raise anything on a garbled call
            raw = self._format.start + body + end
            log.warning("Tool call kept as text: %s: %.*s", exc, _WARN_CHARS, raw)
            self._held_space = self._space_before_call
            self._text(raw, text)
            return
        if not self._parallel and self.calls_made + len(found) > 1:
            keep = 0 if self.calls_made else 1
            dropped = ", ".join(call.name for call in found[keep:])
            log.warning("Dropped tool call(s) to %s: parallel_tool_calls is off", dropped)
            found = found[:keep]
        calls.extend(found)
        self.calls_made += len(found)
        self._after_call = True
