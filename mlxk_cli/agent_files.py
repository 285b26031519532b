"""`mlxk run --tools FILE --json-schema FILE --tool-choice ...`: files to core tools and formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlxk_core import InvalidRequest, NamedToolChoice, ResponseFormat, Tool, ToolChoice

__all__ = ["load_schema", "load_tools", "tool_choice"]


def _read_json(path: Path, param: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidRequest(f"Cannot read {path}: {exc.strerror}", param=param) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"{path} is not valid JSON: {exc}", param=param,
                             hint="give a JSON file") from None


def load_schema(path: Path) -> ResponseFormat:
    """A JSON schema file as a json_schema response format (named after the file)."""
    schema = _read_json(path, "json_schema")
    if not isinstance(schema, dict):
        raise InvalidRequest(f"{path} holds no JSON schema object", param="json_schema")
    name = "".join(c if c.isalnum() or c in "_-" else "_" for c in path.stem)[:64] or "schema"
    return ResponseFormat("json_schema", schema, name)


def load_tools(path: Path) -> tuple[Tool, ...]:
    """Function tools from a JSON file: a list in OpenAI's shape or of bare functions."""
    data = _read_json(path, "tools")
    items = data.get("tools") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InvalidRequest(f"{path} holds no list of tools", param="tools",
                             hint='e.g. [{"type": "function", "function": {"name": ...}}]')
    tools = []
    for item in items:
        spec = item.get("function", item) if isinstance(item, dict) else None
        if not isinstance(spec, dict):
            raise InvalidRequest(f"{path}: each tool must be an object", param="tools")
        parameters = spec.get("parameters") or {"type": "object", "properties": {}}
        tools.append(Tool(spec.get("name", ""), spec.get("description"), parameters))
    return tuple(tools)


def tool_choice(value: str) -> ToolChoice:
    """``auto``, ``none``, ``required`` or a function's name."""
    return value if value in ("auto", "none", "required") else NamedToolChoice(value)  # type: ignore[return-value]
