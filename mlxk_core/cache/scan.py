"""Walk the hub cache layout (``models--org--name/{blobs,refs,snapshots}``) into records.

A lean ``os.scandir`` walk: one stat per blob, one ``readlink`` per snapshot file, config.json
read once per revision. Broken layouts become warnings and unhealthy entries, never exceptions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlxk_core.cache.facts import facts_from_listing
from mlxk_core.cache.health import health_from_listing
from mlxk_core.cache.listing import Listing, is_inside, read_json, walk_files
from mlxk_core.cache.records import CachedFile, CachedModel, ModelRevision

__all__ = [
    "RepoFolders",
    "ScanResult",
    "list_repos",
    "repo_id_from_folder",
    "repo_signature",
    "scan_cache",
    "scan_repo",
]

_PREFIX = "models--"
_IGNORED = {"CACHEDIR.TAG", "version.txt", "version_diffusers_cache.txt", "blobs"}
_OTHER_TYPES = ("datasets--", "spaces--")


@dataclass(frozen=True)
class ScanResult:
    """Every cached model repo (sorted by repo id) and the cache-level warnings."""

    models: tuple[CachedModel, ...]
    warnings: tuple[str, ...]


def repo_id_from_folder(folder: str) -> str | None:
    """``models--org--name`` -> ``org/name``; None for anything that is not a model folder."""
    if not folder.startswith(_PREFIX) or len(folder) == len(_PREFIX):
        return None
    return folder[len(_PREFIX) :].replace("--", "/")


@dataclass(frozen=True)
class RepoFolders:
    """The repo folders of a cache (repo id -> folder) and the cache-level warnings."""

    root: Path
    folders: dict[str, Path]
    warnings: tuple[str, ...]


def list_repos(cache_dir: Path) -> RepoFolders:
    """The model repo folders of ``cache_dir`` (one ``scandir``); a missing cache is empty."""
    root = os.path.realpath(cache_dir)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return RepoFolders(Path(root), {}, ())
    except OSError as exc:
        problem = f"cannot read the cache folder {root}: {exc.strerror}"
        return RepoFolders(Path(root), {}, (problem,))
    folders: dict[str, Path] = {}
    warnings: list[str] = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name in _IGNORED or name.startswith(_OTHER_TYPES):
            continue
        repo_id = repo_id_from_folder(name)
        if repo_id is None:
            kind = "folder" if entry.is_dir() else "file"
            warnings.append(f"stray {kind} in the cache: {name}")
        elif entry.is_symlink() or not entry.is_dir():
            warnings.append(f"{name} is not a folder of the cache (a file or a link)")
        else:
            folders[repo_id] = Path(entry.path)
    return RepoFolders(Path(root), folders, tuple(warnings))


def scan_repo(root: Path, repo_path: Path, repo_id: str) -> CachedModel:
    """Scan one repo folder of the cache at ``root``."""
    return _RepoScan(root, repo_path, repo_id).run()


def repo_signature(repo_path: Path) -> tuple[int, ...]:
    """Modification times that change when a repo gains or loses a ref, a snapshot or a file
    in a snapshot folder (a pull, an ``rm``, a ref moved); -1 for what is missing."""
    marks: list[int] = []
    for sub in ("", "refs", "snapshots", "blobs"):
        marks.append(_mtime_ns(os.path.join(repo_path, sub)))
    for sub in ("refs", "snapshots"):
        try:
            with os.scandir(os.path.join(repo_path, sub)) as entries:
                for entry in entries:
                    marks.append(_mtime_ns(entry.path))
        except OSError:
            marks.append(-1)
    return tuple(marks)


def scan_cache(cache_dir: Path) -> ScanResult:
    """Scan ``cache_dir``; a missing cache is an empty one."""
    listing = list_repos(cache_dir)
    models = [scan_repo(listing.root, path, repo) for repo, path in listing.folders.items()]
    models.sort(key=lambda m: m.repo_id)
    return ScanResult(tuple(models), listing.warnings)


class _RepoScan:
    """Scan of one repo folder: blobs are listed once and stat'ed on first use."""

    def __init__(self, root: Path, repo_path: Path, repo_id: str) -> None:
        self.root = root
        self.repo_path = repo_path
        self.repo_id = repo_id
        self.blob_dir = os.path.join(repo_path, "blobs")
        self.warnings: list[str] = []
        self.blobs: dict[str, os.DirEntry[str]] = {}
        self.stats: dict[str, tuple[int | None, float, bool]] = {}
        self.blob_sizes: dict[str, dict[str, int]] = {}  # commit -> blob path -> size
        self.slow = os.path.islink(self.blob_dir)
        if not self.slow:
            try:
                self.blobs = {e.name: e for e in os.scandir(self.blob_dir)}
            except OSError:
                self.blobs = {}

    def run(self) -> CachedModel:
        """Build the CachedModel record, with warnings for everything out of place."""
        refs = self._refs()
        revisions: list[ModelRevision] = []
        snapshots = os.path.join(self.repo_path, "snapshots")
        try:
            entries = sorted(os.scandir(snapshots), key=lambda e: e.name)
        except OSError:
            entries = []
            self.warnings.append("the snapshots folder is missing")
        for entry in entries:
            if not entry.is_dir():
                self.warnings.append(f"stray file in snapshots: {entry.name}")
            elif entry.is_symlink() and not is_inside(self.root, Path(entry.path)):
                self.warnings.append(f"snapshot {entry.name} links outside the cache")
            else:
                revisions.append(self._revision(entry, refs.get(entry.name, ())))
        if entries and not revisions:
            self.warnings.append("no usable snapshot")
        known = {r.commit_hash for r in revisions}
        for commit, names in sorted(refs.items()):
            if commit not in known:
                self.warnings.append(
                    f"ref {', '.join(names)} points to a missing snapshot {commit[:12]}"
                )
        revisions.sort(key=lambda r: (-r.last_modified, r.commit_hash))
        sizes = {b: n for r in revisions for b, n in self.blob_sizes[r.commit_hash].items()}
        return CachedModel(
            repo_id=self.repo_id,
            repo_path=self.repo_path,
            revisions=tuple(revisions),
            size_on_disk=sum(sizes.values()),
            last_modified=max(
                (r.last_modified for r in revisions), default=_mtime(self.repo_path)
            ),
            warnings=tuple(self.warnings),
        )

    def _refs(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        refs_dir = os.path.join(self.repo_path, "refs")
        if os.path.isfile(refs_dir):
            self.warnings.append("refs is a file, not a folder")
            return {}
        for folder, _dirs, files in os.walk(refs_dir):
            for name in files:
                path = os.path.join(folder, name)
                try:
                    with open(path, encoding="utf-8") as f:
                        commit = f.read().strip()
                except (OSError, UnicodeError):
                    self.warnings.append(f"unreadable ref {name}")
                    continue
                ref = os.path.relpath(path, refs_dir).replace(os.sep, "/")
                found.setdefault(commit, []).append(ref)
        return {commit: tuple(sorted(names)) for commit, names in found.items()}

    def _revision(self, snap: os.DirEntry[str], refs: tuple[str, ...]) -> ModelRevision:
        files: list[CachedFile] = []
        listing: Listing = {}
        escaping: list[str] = []
        mtimes: list[float] = []
        sizes: dict[str, int] = {}
        for name, entry in walk_files(snap.path):
            size, mtime, inside, blob = self._file(entry)
            listing[name] = size
            if not inside:
                escaping.append(name)
            if size is not None:
                mtimes.append(mtime)
            sizes[blob] = size or 0
            files.append(CachedFile(name, Path(entry.path), size or 0, Path(blob)))
        snapshot = Path(snap.path)
        config = read_json(snapshot / "config.json") if listing.get("config.json") else None
        self.blob_sizes[snap.name] = sizes
        files.sort(key=lambda f: f.name)
        return ModelRevision(
            repo_id=self.repo_id,
            commit_hash=snap.name,
            refs=refs,
            snapshot_path=snapshot,
            files=tuple(files),
            size_on_disk=sum(sizes.values()),
            last_modified=max(mtimes, default=_mtime(snapshot)),
            facts=facts_from_listing(snapshot, listing, config, name=self.repo_id),
            health=health_from_listing(snapshot, listing, config, escaping),
        )

    def _file(self, entry: os.DirEntry[str]) -> tuple[int | None, float, bool, str]:
        """Size (None if dangling), mtime, whether it stays in the cache, and its blob path."""
        if not entry.is_symlink():
            st = entry.stat(follow_symlinks=False)
            return st.st_size, st.st_mtime, True, entry.path
        link = os.readlink(entry.path)
        target = os.path.normpath(os.path.join(os.path.dirname(entry.path), link))
        blob_name = os.path.basename(target)
        if not self.slow and os.path.dirname(target) == self.blob_dir:
            return (*self._blob(blob_name), target)
        try:
            st = os.stat(entry.path)
        except OSError:
            return None, 0.0, is_inside(self.root, Path(entry.path)), target
        return st.st_size, st.st_mtime, is_inside(self.root, Path(entry.path)), target

    def _blob(self, name: str) -> tuple[int | None, float, bool]:
        found = self.stats.get(name)
        if found is not None:
            return found
        entry = self.blobs.get(name)
        result: tuple[int | None, float, bool] = (None, 0.0, True)
        if entry is not None:
            try:
                st = entry.stat()
                result = (st.st_size, st.st_mtime, True)
            except OSError:
                result = (None, 0.0, True)
            if entry.is_symlink():
                path = Path(entry.path)
                result = (result[0], result[1], is_inside(self.root, path))
        self.stats[name] = result
        return result


def _mtime_ns(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _mtime(path: Path | str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0
