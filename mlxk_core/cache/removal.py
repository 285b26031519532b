"""Removal of a cached model or one revision: a plan value first, ``execute()`` second.

Deletion goes through huggingface_hub's delete strategy, so refs, snapshots and blobs stay
consistent and blobs another revision still uses survive (huggingface_hub is imported lazily).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mlxk_core.cache.listing import is_inside
from mlxk_core.cache.records import CachedModel, ModelRevision
from mlxk_core.errors import CacheError, UnsafePath

__all__ = ["RemovalPlan", "plan_removal"]


@dataclass(frozen=True)
class RemovalPlan:
    """What a removal deletes and the bytes it frees; nothing changes until ``execute()``."""

    repo_id: str
    commit_hashes: tuple[str, ...]
    whole_repo: bool
    freed_bytes: int
    paths: tuple[Path, ...]
    cache_dir: Path
    repo_path: Path

    def execute(self) -> None:
        """Delete what the plan lists; refuses (UnsafePath) if anything now leaves the cache."""
        _check_repo(self.cache_dir, self.repo_path)
        try:
            if not self._execute_with_hub():
                self._execute_fallback()
            if self.whole_repo and os.path.lexists(self.repo_path):
                shutil.rmtree(self.repo_path)
        except OSError as exc:
            raise CacheError(
                f"Could not remove {self.repo_id}: {exc}", hint="check the cache's permissions"
            ) from exc

    def _execute_with_hub(self) -> bool:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir(self.cache_dir)
        target = os.path.realpath(self.repo_path)
        repo = next((r for r in info.repos if os.path.realpath(r.repo_path) == target), None)
        if repo is None:
            return False
        known = {r.commit_hash for r in repo.revisions}
        hashes = known if self.whole_repo else known & set(self.commit_hashes)
        if not hashes:
            return True
        strategy = info.delete_revisions(*sorted(hashes))
        paths = strategy.blobs | strategy.refs | strategy.repos | strategy.snapshots
        unsafe = sorted(str(p) for p in paths if not _inside_or_link(self.cache_dir, p))
        if unsafe:
            raise UnsafePath(f"Refusing to delete outside the cache: {', '.join(unsafe)}")
        strategy.execute()
        return True

    def _execute_fallback(self) -> None:
        """For repos huggingface_hub reports as corrupted: delete the listed paths in order."""
        for path in self.paths:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif os.path.lexists(path):
                path.unlink()


def plan_removal(
    model: CachedModel, revision: ModelRevision | None, cache_dir: Path
) -> RemovalPlan:
    """Plan removing ``revision`` of ``model``, or the whole repo when revision is None."""
    root = Path(os.path.realpath(cache_dir))
    _check_repo(root, model.repo_path)
    whole = revision is None or len(model.revisions) <= 1
    if whole:
        return RemovalPlan(
            repo_id=model.repo_id,
            commit_hashes=tuple(r.commit_hash for r in model.revisions),
            whole_repo=True,
            freed_bytes=_repo_bytes(model.repo_path),
            paths=(model.repo_path,),
            cache_dir=root,
            repo_path=model.repo_path,
        )
    assert revision is not None
    others = {f.blob_path for r in model.revisions if r is not revision for f in r.files}
    freed = {f.blob_path: f.size for f in revision.files if f.blob_path not in others}
    refs = tuple(model.repo_path / "refs" / ref for ref in revision.refs)
    snapshot = revision.snapshot_path
    blobs = tuple(p for p in sorted(freed, key=str) if p and snapshot not in p.parents)
    return RemovalPlan(
        repo_id=model.repo_id,
        commit_hashes=(revision.commit_hash,),
        whole_repo=False,
        freed_bytes=sum(freed.values()),
        paths=(*refs, revision.snapshot_path, *blobs),
        cache_dir=root,
        repo_path=model.repo_path,
    )


def _check_repo(root: Path, repo_path: Path) -> None:
    """Refuse a repo folder outside the cache root, or one holding a link that escapes it."""
    real_root = os.path.realpath(root)
    if os.path.islink(repo_path) or os.path.realpath(repo_path) == real_root:
        raise UnsafePath(f"Refusing to delete {repo_path}: not a repo folder of the cache")
    if not is_inside(root, repo_path):
        raise UnsafePath(f"Refusing to delete {repo_path}: it is outside the cache {root}")
    for folder, dirs, files in os.walk(repo_path):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path) and not _inside_or_link(root, Path(path)):
                raise UnsafePath(
                    f"Refusing to delete {repo_path}: {path} links outside the cache",
                    hint="remove that link by hand after checking where it points",
                )


def _inside_or_link(root: Path, path: Path) -> bool:
    """Inside the root, judging a dangling link by where it points."""
    if os.path.islink(path) and not os.path.exists(path):
        target = os.path.join(os.path.dirname(path), os.readlink(path))
        return is_inside(root, Path(os.path.normpath(target)))
    return is_inside(root, path)


def _repo_bytes(repo_path: Path) -> int:
    """Bytes of the blobs and plain snapshot files a repo folder holds (links not followed)."""
    total = 0
    blobs = os.path.join(repo_path, "blobs")
    for folder, _dirs, files in os.walk(repo_path):
        if os.path.relpath(folder, repo_path).split(os.sep)[0] == "refs":
            continue
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path) and folder != blobs:
                continue
            try:
                total += os.stat(path).st_size
            except OSError:
                continue
    return total
