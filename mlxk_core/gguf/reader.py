"""Read a GGUF file's header (metadata and tensor table) in pure Python, without mlx."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from mlxk_core.errors import ImportFailed

__all__ = ["GGML_TYPE_NAMES", "GGUFHeader", "TensorInfo", "read_header"]

# ggml tensor type ids -> names (the ones a GGUF user meets; others print as their number).
GGML_TYPE_NAMES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
    10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS",
    17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
    23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16",
}

# GGUF value type id -> struct format of a scalar (8 = string and 9 = array are special).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of the file: its name, shape (numpy order) and ggml type name."""

    name: str
    shape: tuple[int, ...]
    ggml_type: str


@dataclass(frozen=True)
class GGUFHeader:
    """A GGUF file's version, metadata (plain Python values) and tensor table."""

    version: int
    metadata: dict[str, Any]
    tensors: tuple[TensorInfo, ...]


def _unpack(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise EOFError("truncated GGUF header")
    return struct.unpack(fmt, data)[0]


def _string(f: BinaryIO) -> str:
    n = _unpack(f, "<Q")
    data = f.read(n)
    if len(data) != n:
        raise EOFError("truncated GGUF string")
    return data.decode("utf-8", errors="replace")


def _value(f: BinaryIO, kind: int) -> Any:
    if kind == _STRING:
        return _string(f)
    if kind == _ARRAY:
        item_kind, count = _unpack(f, "<I"), _unpack(f, "<Q")
        if item_kind in _SCALARS and item_kind != 7:
            fmt = _SCALARS[item_kind]
            size = struct.calcsize(fmt)
            data = f.read(size * count)
            if len(data) != size * count:
                raise EOFError("truncated GGUF array")
            return list(struct.unpack(f"<{count}{fmt[1:]}", data))
        return [_value(f, item_kind) for _ in range(count)]
    if kind not in _SCALARS:
        raise ValueError(f"unknown GGUF value type {kind}")
    return _unpack(f, _SCALARS[kind])


def read_header(path: Path) -> GGUFHeader:
    """Parse the header of the GGUF file at ``path``; raise ImportFailed if it is not one."""
    try:
        with Path(path).open("rb") as f:
            if f.read(4) != b"GGUF":
                raise ValueError("not a GGUF file (bad magic)")
            version = _unpack(f, "<I")
            if version not in (2, 3):
                raise ValueError(f"GGUF version {version} is not supported (2 and 3 are)")
            n_tensors, n_kv = _unpack(f, "<Q"), _unpack(f, "<Q")
            metadata: dict[str, Any] = {}
            for _ in range(n_kv):
                key = _string(f)
                metadata[key] = _value(f, _unpack(f, "<I"))
            tensors = []
            for _ in range(n_tensors):
                name = _string(f)
                dims = [_unpack(f, "<Q") for _ in range(_unpack(f, "<I"))]
                kind = _unpack(f, "<I")
                _unpack(f, "<Q")  # data offset: mlx reads the data, we only need the table
                tensors.append(
                    TensorInfo(name, tuple(reversed(dims)), GGML_TYPE_NAMES.get(kind, str(kind)))
                )
    except FileNotFoundError as exc:
        hint = "check the path to the .gguf file"
        raise ImportFailed(f"No such file: {path}", hint=hint) from exc
    except (OSError, ValueError, EOFError, struct.error) as exc:
        raise ImportFailed(
            f"{path} is not a readable GGUF file: {exc}",
            hint="check that the download is complete and the file is a .gguf model",
        ) from exc
    return GGUFHeader(version, metadata, tuple(tensors))
