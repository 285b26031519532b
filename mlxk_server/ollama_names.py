"""Model names as Ollama clients write them, and Ollama's timestamps.

Ollama names are ``name:tag``. mlxk lists each model as ``org/name:latest`` and reads a name
back with ``:latest`` meaning the newest snapshot and any other tag a revision (``org/name:abc1``
is ``org/name@abc1``); a name without a tag is taken as it is.
"""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["iso_time", "ollama_name", "to_mlxk"]


def ollama_name(repo_id: str) -> str:
    """The name Ollama clients see for a cached model: ``org/name:latest``."""
    return f"{repo_id}:latest"


def to_mlxk(name: str) -> str:
    """The mlxk model name of an Ollama name (``:latest`` dropped, another tag a revision)."""
    base, colon, tag = name.rpartition(":")
    if not colon or not base or "/" in tag:
        return name
    return base if tag == "latest" else f"{base}@{tag}"


def iso_time(at: float | None = None) -> str:
    """An RFC 3339 UTC timestamp, as Ollama writes ``created_at`` (now, or epoch ``at``)."""
    moment = datetime.now(timezone.utc) if at is None else datetime.fromtimestamp(at, timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")
