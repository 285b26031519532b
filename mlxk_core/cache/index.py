"""CacheIndex: the Hugging Face hub cache as typed records, names resolved, removals planned."""

from __future__ import annotations

from pathlib import Path

from mlxk_core.cache.facts import read_facts
from mlxk_core.cache.health import check_health
from mlxk_core.cache.records import CachedModel, ModelRevision, ResolvedModel
from mlxk_core.cache.removal import RemovalPlan, plan_removal
from mlxk_core.cache.resolve import find_repo, find_revision, resolve_name, split_name
from mlxk_core.cache.scan import ScanResult, scan_cache
from mlxk_core.settings import Settings

__all__ = ["CacheIndex", "RemovalPlan", "check_health", "read_facts"]


class CacheIndex:
    """Read-only view of one hub cache folder; scanned once, ``refresh()`` rescans."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir).expanduser()
        self._scan: ScanResult | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CacheIndex:
        """The index of the cache folder ``settings`` point to."""
        return cls(settings.cache_dir)

    def models(self) -> tuple[CachedModel, ...]:
        """Every cached model repo, sorted by repo id (broken ones included, unhealthy)."""
        return self._scanned().models

    def refresh(self) -> None:
        """Forget the last scan; the next call scans the cache again."""
        self._scan = None

    def warnings(self) -> tuple[str, ...]:
        """Layout problems: stray folders in the cache and each repo's own warnings."""
        scan = self._scanned()
        per_repo = tuple(f"{m.repo_id}: {w}" for m in scan.models for w in m.warnings)
        return scan.warnings + per_repo

    def get(self, name: str) -> tuple[CachedModel, ModelRevision]:
        """The repo and revision ``name[@rev]`` names; raises ModelNotFound or AmbiguousModel."""
        base, revision = split_name(name)
        model = find_repo(self.models(), base)
        return model, find_revision(model, revision)

    def resolve(self, name: str, *, allow_local: bool = True) -> ResolvedModel:
        """A cached model name, or (when ``allow_local``) a local model folder, to a path."""
        return resolve_name(self.models(), self.cache_dir, name, allow_local=allow_local)

    def plan_removal(self, name: str) -> RemovalPlan:
        """Plan removing a whole model (``name``) or one revision (``name@rev``)."""
        base, revision = split_name(name)
        model = find_repo(self.models(), base)
        rev = find_revision(model, revision) if revision is not None else None
        return plan_removal(model, rev, self.cache_dir)

    def _scanned(self) -> ScanResult:
        if self._scan is None:
            self._scan = scan_cache(self.cache_dir)
        return self._scan
