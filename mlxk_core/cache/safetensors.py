"""The JSON header of a safetensors file (tensor names, dtypes, offsets); never tensor data."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SafetensorsHeader", "read_header", "read_safetensors_header"]

_MAX_HEADER = 100 << 20


@dataclass(frozen=True)
class SafetensorsHeader:
    """A parsed header with the sizes a truncation check needs."""

    file_size: int
    length: int
    header: dict[str, Any]


def read_header(path: Path) -> SafetensorsHeader:
    """The header of ``path``; OSError when unreadable, ValueError when it has no valid header."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        raw = f.read(8)
        length = struct.unpack("<Q", raw)[0] if len(raw) == 8 else 0
        if not 0 < length <= min(size - 8, _MAX_HEADER):
            raise ValueError("no valid safetensors header")
        header = json.loads(f.read(length))
    if not isinstance(header, dict):
        raise ValueError("the safetensors header is not a JSON object")
    return SafetensorsHeader(size, length, header)


def read_safetensors_header(path: Path) -> dict[str, Any] | None:
    """The header of ``path`` as a dict, or None when it cannot be read or is not valid."""
    try:
        return read_header(path).header
    except (OSError, ValueError):
        return None
