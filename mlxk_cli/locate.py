"""The model a command names: a cached revision, or a local model folder (as `run` accepts)."""

from __future__ import annotations

from mlxk_core import (
    CachedModel,
    CacheIndex,
    ModelNotFound,
    ModelRevision,
    ResolvedModel,
    Settings,
    UnsafePath,
)

Located = tuple[CachedModel, ModelRevision] | ResolvedModel


def locate(name: str) -> Located:
    """The cached repo and revision ``name[@rev]`` means, else the local folder it names.

    Cache names win, as in `run`; a name that is neither raises the cache's own error.
    """
    index = CacheIndex.from_settings(Settings.from_env())
    try:
        return index.get(name)
    except (ModelNotFound, UnsafePath):
        resolved = index.resolve(name)  # a local folder, or the same error again
    if resolved.repo_id is None:
        return resolved
    return index.get(f"{resolved.repo_id}@{resolved.commit_hash}")  # a path to a snapshot
