"""CacheIndex: the Hugging Face hub cache as typed records, names resolved, removals planned.

The index follows the cache as it changes, without scanning it all again: the list of repos is
read again when the cache folder changes (a repo added or removed), and a repo is scanned again
when its refs, snapshots or blobs change (a pull, an ``rm``, a moved ref). Resolving a name
looks at one repo, so a server resolving every request pays for one repo, not for the cache.
Safe to share between threads.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from mlxk_core.cache.facts import read_facts
from mlxk_core.cache.health import check_health
from mlxk_core.cache.records import CachedModel, ModelRevision, ResolvedModel
from mlxk_core.cache.removal import RemovalPlan, plan_removal
from mlxk_core.cache.resolve import (
    find_repo,
    find_revision,
    resolve_name,
    resolved_revision,
    split_name,
)
from mlxk_core.cache.scan import RepoFolders, list_repos, repo_signature, scan_repo
from mlxk_core.errors import ModelNotFound
from mlxk_core.settings import Settings

__all__ = ["CacheIndex", "RemovalPlan", "check_health", "read_facts"]


@dataclass(frozen=True)
class _RepoName:
    repo_id: str


class CacheIndex:
    """Read-only view of one hub cache folder that follows its changes."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir).expanduser()
        self._lock = threading.RLock()
        self._root_mark: int | None = None
        self._listing = RepoFolders(self.cache_dir, {}, ())
        self._repos: dict[str, tuple[tuple[int, ...], CachedModel]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> CacheIndex:
        """The index of the cache folder ``settings`` point to."""
        return cls(settings.cache_dir)

    def models(self) -> tuple[CachedModel, ...]:
        """Every cached model repo, sorted by repo id (broken ones included, unhealthy)."""
        with self._lock:
            listing = self._folders()
            return tuple(self._repo(repo_id) for repo_id in sorted(listing.folders))

    def refresh(self) -> None:
        """Forget everything read so far; the next call reads the cache again."""
        with self._lock:
            self._root_mark = None
            self._repos.clear()

    def warnings(self) -> tuple[str, ...]:
        """Layout problems: stray folders in the cache and each repo's own warnings."""
        models = self.models()
        per_repo = tuple(f"{m.repo_id}: {w}" for m in models for w in m.warnings)
        return self._listing.warnings + per_repo

    def get(self, name: str) -> tuple[CachedModel, ModelRevision]:
        """The repo and revision ``name[@rev]`` names; raises ModelNotFound or AmbiguousModel."""
        base, revision = split_name(name)
        model = self.repo(base)
        return model, find_revision(model, revision)

    def repo(self, name: str) -> CachedModel:
        """The one cached repo ``name`` (an id or a unique short name) means, read fresh."""
        with self._lock:
            names = [_RepoName(r) for r in sorted(self._folders().folders)]
            return self._repo(find_repo(names, name).repo_id)

    def resolve(self, name: str, *, allow_local: bool = True) -> ResolvedModel:
        """A cached model name, or (when ``allow_local``) a local model folder, to a path."""
        if name.startswith(("/", "./", "../", "~", ".\\")) or name in {".", ".."}:
            return resolve_name(self.models(), self.cache_dir, name, allow_local=allow_local)
        base, revision = split_name(name)
        try:
            model = self.repo(base)
        except ModelNotFound:
            if allow_local and revision is None:  # a folder named like a repo, say
                return resolve_name(self.models(), self.cache_dir, name, allow_local=True)
            raise
        return resolved_revision(self.cache_dir, name, find_revision(model, revision))

    def plan_removal(self, name: str) -> RemovalPlan:
        """Plan removing a whole model (``name``) or one revision (``name@rev``)."""
        base, revision = split_name(name)
        model = self.repo(base)
        rev = find_revision(model, revision) if revision is not None else None
        return plan_removal(model, rev, self.cache_dir)

    def _folders(self) -> RepoFolders:
        try:
            mark: int | None = os.stat(self.cache_dir).st_mtime_ns
        except OSError:
            mark = None
        if mark is None or mark != self._root_mark:
            self._listing = list_repos(self.cache_dir)
            self._root_mark = mark
            gone = set(self._repos) - set(self._listing.folders)
            for repo_id in gone:
                del self._repos[repo_id]
        return self._listing

    def _repo(self, repo_id: str) -> CachedModel:
        path = self._listing.folders[repo_id]
        mark = repo_signature(path)
        held = self._repos.get(repo_id)
        if held is not None and held[0] == mark:
            return held[1]
        model = scan_repo(self._listing.root, path, repo_id)
        self._repos[repo_id] = (mark, model)
        return model
