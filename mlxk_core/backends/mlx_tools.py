"""A loaded model's tool-call format, from mlx-lm's tool parsers; part of the backend corner.

Importing ``mlx_lm.tool_parsers`` imports mlx, so the parsers reach the pure core as a
:class:`~mlxk_core.generation.tools.ToolFormat` built here.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from mlxk_core.errors import InvalidRequest
from mlxk_core.generation.tools import ToolFormat

__all__ = ["tool_format", "tool_parser_names"]


def tool_parser_names() -> tuple[str, ...]:
    """The tool parsers the installed mlx-lm ships (``mlx_lm.tool_parsers.<name>``)."""
    import mlx_lm.tool_parsers as parsers

    return tuple(sorted(m.name for m in pkgutil.iter_modules(parsers.__path__)))


def tool_format(tokenizer: Any, parser: str | None = None) -> ToolFormat | None:
    """A loaded tokenizer's tool-call format (mlx-lm infers it from the chat template; a
    ``tool_parser_type`` in tokenizer_config.json overrides that), or mlx-lm's ``parser``."""
    if parser is not None:
        if parser not in tool_parser_names():
            choices = ", ".join(tool_parser_names())
            raise InvalidRequest(
                f"Unknown tool parser {parser!r}", param="tool_parser", hint=f"choose: {choices}"
            )
        m = importlib.import_module(f"mlx_lm.tool_parsers.{parser}")
        return ToolFormat(parser, m.tool_call_start, m.tool_call_end, m.parse_tool_call)
    if not getattr(tokenizer, "has_tool_calling", False):
        return None
    parse = tokenizer.tool_parser
    name = str(getattr(parse, "__module__", "")).rsplit(".", 1)[-1]
    return ToolFormat(name, tokenizer.tool_call_start, tokenizer.tool_call_end or "", parse)
