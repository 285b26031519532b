"""Problems only reading weight files shows: a safetensors file cut short, or no valid header.

The cache scan stays cheap (sizes and links only); these checks open each safetensors file and
read its header (never the tensors), for explicit checks: ``check_health`` and ``mlxk health``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from mlxk_core.cache.listing import is_lfs_pointer
from mlxk_core.cache.records import CachedModel, Health, ModelRevision
from mlxk_core.cache.safetensors import read_header

__all__ = ["safetensors_reason", "verify_model", "verify_revision", "weight_file_reasons"]


def safetensors_reason(path: Path, name: str) -> str | None:
    """Why the safetensors file at ``path`` cannot load (truncated, bad header), or None."""
    try:
        found = read_header(path)
    except OSError as exc:
        return f"{name} cannot be read: {exc.strerror}"
    except ValueError:
        return f"{name} has no valid safetensors header (damaged or not safetensors)"
    ends = [
        t["data_offsets"][1]
        for key, t in found.header.items()
        if key != "__metadata__" and isinstance(t, dict) and len(t.get("data_offsets", ())) == 2
    ]
    needed = 8 + found.length + max(ends, default=0)
    if found.file_size < needed:
        return (
            f"{name} is truncated: {found.file_size} of {needed} bytes"
            " (an incomplete copy or download)"
        )
    return None


def weight_file_reasons(root: Path, sizes: Mapping[str, int | None]) -> list[str]:
    """Why safetensors files of ``root`` (name -> size) cannot load; files the cheap health
    check already rejects (missing, empty, LFS pointers) are not read again."""
    root = Path(root)
    found = (
        safetensors_reason(root / name, name)
        for name, size in sorted(sizes.items())
        if name.endswith(".safetensors") and size and not is_lfs_pointer(root / name, size)
    )
    return [r for r in found if r]


def verify_revision(rev: ModelRevision) -> ModelRevision:
    """``rev`` with its health completed by reading its weight files' headers."""
    extra = weight_file_reasons(rev.snapshot_path, {f.name: f.size for f in rev.files})
    if not extra:
        return rev
    health = Health(healthy=False, reasons=(*rev.health.reasons, *extra))
    return dataclasses.replace(rev, health=health)


def verify_model(model: CachedModel) -> CachedModel:
    """``model`` with every revision passed through ``verify_revision``."""
    return dataclasses.replace(model, revisions=tuple(verify_revision(r) for r in model.revisions))
