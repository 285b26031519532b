"""Which models the server offers: the healthy MLX models of the cache, allow-listed (chat and
base models for generation, embedding models for embeddings)."""

from __future__ import annotations

import re

from mlxk_core import (
    CachedModel,
    CacheIndex,
    MlxkError,
    ModelNotFound,
    ResolvedModel,
    Settings,
    UnhealthyModel,
)
from mlxk_server.errors import ModelNotServed

__all__ = ["Catalog"]

# A repo id ("org/name" or "name"); anything else (paths, "..", "~", "\\") never resolves.
_REPO_ID = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?(@[A-Za-z0-9._/-]+)?$"
)


def _safe_name(name: str) -> bool:
    return bool(_REPO_ID.match(name)) and ".." not in name


def _runnable(model: CachedModel) -> bool:
    rev = model.latest
    return (
        rev is not None
        and rev.health.healthy
        and rev.facts.framework == "mlx"
        and rev.facts.model_type in ("chat", "base", "embedding")
        and (rev.facts.embedding is None or rev.facts.embedding.unsupported is None)
    )


class Catalog:
    """The models a client may ask for: healthy MLX chat, base and embedding models of the cache
    (allow-listed)."""

    def __init__(self, settings: Settings, allow: tuple[str, ...] = ()) -> None:
        self._index = CacheIndex.from_settings(settings)  # follows changes to the cache
        self._allow = allow

    def _allowed(self, *names: str | None) -> bool:
        return not self._allow or any(n in self._allow for n in names if n)

    def models(self) -> list[CachedModel]:
        """Runnable cached models, in the index's order; an empty or missing cache gives []."""
        try:
            found = list(self._index.models())
        except MlxkError:
            return []
        return [m for m in found if _runnable(m) and self._allowed(m.repo_id)]

    def resolve(self, name: str) -> ResolvedModel:
        """Resolve a request's ``model`` inside the cache; ModelNotFound for anything else
        (ModelNotServed for a name outside the allow-list, whether it is cached or not)."""
        if not _safe_name(name):
            raise ModelNotFound(name)
        if not self._allowed(name, name.partition("@")[0]):
            raise ModelNotServed(name)
        resolved = self._index.resolve(name, allow_local=False)
        if resolved.repo_id is None:
            raise ModelNotFound(name)
        if not self._allowed(name, resolved.repo_id):
            raise ModelNotServed(name)
        if not resolved.health.healthy:  # first: damage can make an MLX model look foreign
            raise UnhealthyModel(resolved.repo_id, resolved.health.reasons)
        if resolved.facts.framework != "mlx":
            raise ModelNotFound(name, hint="only MLX models can be served; see `mlxk list`")
        return resolved
