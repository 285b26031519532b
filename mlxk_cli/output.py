"""The only place the CLI prints: Rich text for people, or one JSON envelope for programs."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

SCHEMA_VERSION = "1"

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def envelope(command: str, data: Any = None, error: dict[str, Any] | None = None) -> dict[str, Any]:
    """The versioned JSON document every ``--json`` command prints."""
    return {"schema_version": SCHEMA_VERSION, "command": command, "data": data, "error": error}


def emit_json(command: str, data: Any = None, error: dict[str, Any] | None = None) -> None:
    """Print one JSON envelope on stdout."""
    sys.stdout.write(json.dumps(envelope(command, data, error), default=str) + "\n")
    sys.stdout.flush()


def human_size(num: float) -> str:
    """Bytes as people read them: ``1.2 GB``, ``512 KB``, ``0 B``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(num) < 1000 or unit == "TB":
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1000
    return f"{num:.1f} TB"


def write(text: str, *, err: bool = False, dim: bool = False) -> None:
    """Write raw text (no markup) to stdout or stderr and flush; ``dim`` fades it on a terminal."""
    stream = sys.stderr if err else sys.stdout
    if dim and text and stream.isatty():
        text = f"\x1b[2m{text}\x1b[22m"
    stream.write(text)
    stream.flush()
