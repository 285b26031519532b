"""Cache records as JSON-ready dicts and as aligned Rich tables, shared by list/show/health/rm.

JSON ``data`` shapes (inside the envelope of ``mlxk_cli.output.emit_json``; sizes in bytes,
times as ISO-8601 UTC strings, commits as full 40-hex hashes):

- ``list``:   ``{"models": [Summary, ...], "hidden": int, "warnings": [str, ...]}`` where
  Summary is ``{"name", "commit", "revisions", "size", "modified", "framework", "type",
  "health": Health}``; ``hidden`` counts models left out by the framework filter (no ``--all``).
- ``show``:   ``{"name", "commit", "refs", "snapshot_path", "size", "modified", **Facts,
  "health": Health, "revisions": [Revision, ...], "files": [{"name", "size"}, ...],
  "config": object | null}``; for a local model folder ``commit`` is null and ``refs`` and
  ``revisions`` are empty.
- ``health``: ``{"healthy": bool, "models": [{"name", "commit", "healthy", "reasons"}, ...]}``.
- ``rm``:     ``{"repo_id", "revisions": [commit, ...], "whole_repo": bool, "freed": int,
  "paths": [str, ...], "deleted": bool}``.

Facts are ``{"framework", "type", "architecture", "precision", "quantization": Quant | null,
"context_length", "reasoning", "capabilities": [str, ...], "gguf_variants": [{"filename",
"quant", "size"}, ...], "embedding": Embedding | null}`` (capabilities among completion, chat,
tools, reasoning, embedding) with Quant ``{"bits", "group_size", "mode", "min_mlx",
"supported", "description"}`` and Embedding (embedding models only) ``{"family", "pooling",
"dimension", "max_tokens", "matryoshka", "unsupported"}``; Health is
``{"healthy": bool, "reasons": [str, ...]}``; Revision is ``{"commit", "refs", "size",
"modified", "healthy"}``. Flags such as ``--health``, ``--files`` or ``--config`` change the
human output only: the JSON shape of a command never depends on them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from mlxk_cli.output import console
from mlxk_core import (
    CachedModel,
    EmbeddingFacts,
    Health,
    Listing,
    ModelFacts,
    ModelRevision,
    Quantization,
    ResolvedModel,
)

FRAMEWORK_LABELS = {"mlx": "MLX", "gguf": "GGUF", "pytorch": "PyTorch", "unknown": "unknown"}

# on a narrow terminal only names and free text fold; ids, sizes and labels stay whole
_WRAPPING_COLUMNS = frozenset({"NAME", "FILE", "REASONS"})
_NO_LIMIT = 100_000
_AGES = ((365 * 86400, "year"), (30 * 86400, "month"), (7 * 86400, "week"), (86400, "day"),
         (3600, "hour"), (60, "minute"))


def short_hash(commit: str | None) -> str:
    """The first 8 characters of a commit hash, or ``-`` when there is none."""
    return commit[:8] if commit else "-"


def iso_time(timestamp: float) -> str:
    """A POSIX timestamp as ISO-8601 UTC, e.g. ``2025-01-31T12:00:00Z``."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def relative_age(timestamp: float, now: float | None = None) -> str:
    """How long ago ``timestamp`` was, as people say it: ``3 days ago``, ``just now``."""
    seconds = max(0.0, (time.time() if now is None else now) - timestamp)
    for span, unit in _AGES:
        if seconds >= span:
            count = int(seconds // span)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def health_dict(health: Health) -> dict[str, Any]:
    """A Health record as JSON."""
    return {"healthy": health.healthy, "reasons": list(health.reasons)}


def model_health(model: CachedModel) -> Health:
    """One verdict for a whole repo: layout warnings plus every revision's reasons."""
    reasons = list(model.warnings)
    if not model.revisions and not reasons:
        reasons.append("no snapshot in the cache")
    several = len(model.revisions) > 1
    for rev in model.revisions:
        prefix = f"{short_hash(rev.commit_hash)}: " if several else ""
        reasons.extend(prefix + reason for reason in rev.health.reasons)
        if not rev.health.healthy and not rev.health.reasons:
            reasons.append(f"{prefix}unhealthy")
    return Health(healthy=model.healthy and not reasons, reasons=tuple(reasons))


def health_text(health: dict[str, Any]) -> str:
    """Rich markup for a Health dict: a green ``ok`` or a red ``unhealthy`` with its reasons."""
    if health["healthy"]:
        return "[green]ok[/]"
    return "[red]unhealthy[/]: " + escape("; ".join(health["reasons"]))


def quantization_dict(quant: Quantization | None) -> dict[str, Any] | None:
    """A Quantization record as JSON (``None`` for unquantized models)."""
    if quant is None:
        return None
    return {
        "bits": quant.bits,
        "group_size": quant.group_size,
        "mode": quant.mode,
        "min_mlx": quant.min_mlx,
        "supported": quant.supported,
        "description": quant.description,
    }


def embedding_dict(facts: EmbeddingFacts | None) -> dict[str, Any] | None:
    """An embedding model's facts as JSON (``None`` for other models)."""
    if facts is None:
        return None
    return {
        "family": facts.family,
        "pooling": facts.pooling,
        "dimension": facts.dimension,
        "max_tokens": facts.max_tokens,
        "matryoshka": facts.matryoshka,
        "unsupported": facts.unsupported,
    }


def facts_dict(facts: ModelFacts) -> dict[str, Any]:
    """ModelFacts as JSON."""
    return {
        "framework": facts.framework,
        "type": facts.model_type,
        "architecture": facts.architecture,
        "precision": facts.precision,
        "quantization": quantization_dict(facts.quantization),
        "context_length": facts.context_length,
        "reasoning": facts.reasoning,
        "capabilities": list(facts.capabilities),
        "gguf_variants": [
            {"filename": v.filename, "quant": v.quant, "size": v.size} for v in facts.gguf_variants
        ],
        "embedding": embedding_dict(facts.embedding),
    }


def model_summary(model: CachedModel) -> dict[str, Any]:
    """One ``list`` entry: the repo described by its latest revision."""
    rev = model.latest
    facts = rev.facts if rev else ModelFacts()
    return {
        "name": model.repo_id,
        "commit": rev.commit_hash if rev else None,
        "revisions": len(model.revisions),
        "size": model.size_on_disk,
        "modified": iso_time(model.last_modified),
        "framework": facts.framework,
        "type": facts.model_type,
        "health": health_dict(model_health(model)),
    }


def revision_summary(rev: ModelRevision) -> dict[str, Any]:
    """One revision of a repo, as listed by ``show``."""
    return {
        "commit": rev.commit_hash,
        "refs": list(rev.refs),
        "size": rev.size_on_disk,
        "modified": iso_time(rev.last_modified),
        "healthy": rev.health.healthy,
    }


def model_detail(model: CachedModel, rev: ModelRevision, config: Any) -> dict[str, Any]:
    """Everything ``show`` knows about one revision of a repo."""
    return {
        "name": model.repo_id,
        "commit": rev.commit_hash,
        "refs": list(rev.refs),
        "snapshot_path": str(rev.snapshot_path),
        "size": rev.size_on_disk,
        "modified": iso_time(rev.last_modified),
        **facts_dict(rev.facts),
        "health": health_dict(rev.health),
        "revisions": [revision_summary(r) for r in model.revisions],
        "files": [{"name": f.name, "size": f.size} for f in rev.files],
        "config": config,
    }


def folder_detail(
    model: ResolvedModel, files: Listing, modified: float, config: Any
) -> dict[str, Any]:
    """What ``show`` knows about a local model folder: ``show``'s shape, without a commit."""
    return {
        "name": model.name,
        "commit": None,
        "refs": [],
        "snapshot_path": str(model.path),
        "size": sum(size or 0 for size in files.values()),
        "modified": iso_time(modified),
        **facts_dict(model.facts),
        "health": health_dict(model.health),
        "revisions": [],
        "files": [{"name": name, "size": size or 0} for name, size in sorted(files.items())],
        "config": config,
    }


def print_table(out: Table) -> None:
    """Print a table; off a terminal (pipes, files) at its natural width so nothing is cut."""
    if console.is_terminal:
        console.print(out)
        return
    natural = Measurement.get(console, console.options.update_width(_NO_LIMIT), out).maximum
    Console(file=console.file, width=max(console.width, natural), highlight=False).print(out)


def table(*columns: str, right: Iterable[str] = ("SIZE",)) -> Table:
    """An aligned, borderless table with upper-case headers; ``right`` columns align right."""
    out = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    aligned = set(right)
    for name in columns:
        out.add_column(
            name,
            justify="right" if name in aligned else "left",
            overflow="fold",
            no_wrap=name not in _WRAPPING_COLUMNS,
        )
    return out
