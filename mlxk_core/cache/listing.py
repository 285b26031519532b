"""Low-level file helpers shared by the scan, facts and health: list a folder, read small files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "LFS_POINTER_PREFIX",
    "UNREAD",
    "WEIGHT_SUFFIXES",
    "Listing",
    "is_inside",
    "is_lfs_pointer",
    "is_weight",
    "list_dir",
    "read_config",
    "read_json",
    "read_text",
    "walk_files",
]

# name (posix, relative to the model folder) -> size in bytes, or None for a dangling link
Listing = dict[str, "int | None"]

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
_LFS_POINTER_MAX = 1024
# passed for "the caller did not read config.json": read it here
UNREAD: Any = object()
WEIGHT_SUFFIXES = (".safetensors", ".gguf", ".bin", ".npz", ".pt", ".pth")


def is_weight(name: str) -> bool:
    """True for a weight file name (safetensors, GGUF, PyTorch or numpy archives)."""
    return name.endswith(WEIGHT_SUFFIXES)


def walk_files(root: Path | str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every non-folder entry below ``root`` with its posix name; folder links are not entered."""
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, prefix + entry.name + "/"))
            else:
                yield prefix + entry.name, entry


def list_dir(root: Path) -> Listing:
    """Every file below ``root`` (links followed for size, not for folders), by relative name."""
    listing: Listing = {}
    for name, entry in walk_files(root):
        try:
            listing[name] = entry.stat().st_size
        except OSError:
            listing[name] = None
    return listing


def read_json(path: Path) -> Any:
    """Parsed JSON of ``path``, or None when it is missing or does not parse."""
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def read_config(root: Path, listing: Listing, config: Any = UNREAD) -> Any:
    """``config`` if the caller already parsed config.json, else its parsed JSON (None if bad)."""
    if config is not UNREAD:
        return config
    return read_json(root / "config.json") if "config.json" in listing else None


def read_text(path: Path, limit: int = 1 << 20) -> str | None:
    """The first ``limit`` bytes of ``path`` as text, or None when unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return None


def is_lfs_pointer(path: Path, size: int | None) -> bool:
    """True when a small file is a Git LFS pointer instead of real content."""
    if size is None or size > _LFS_POINTER_MAX:
        return False
    try:
        with open(path, "rb") as f:
            return f.read(len(LFS_POINTER_PREFIX)) == LFS_POINTER_PREFIX
    except OSError:
        return False


def is_inside(root: Path, path: Path) -> bool:
    """True when ``path``, with every link resolved, lies inside ``root`` (itself resolved)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)
