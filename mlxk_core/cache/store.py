"""Write files into the hub cache in the real layout (blobs, snapshots, refs), atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from mlxk_core.errors import CacheError, UnsafePath

__all__ = ["file_sha256", "repo_folder_name", "store_snapshot"]


def repo_folder_name(repo_id: str, repo_type: str = "model") -> str:
    """The cache folder of a repo: ``models--org--name``."""
    if not repo_id or ".." in repo_id.split("/") or repo_id.startswith("/") or "\\" in repo_id:
        raise UnsafePath(f"Invalid repo id '{repo_id}'", hint="use the form org/name")
    return f"{repo_type}s--" + repo_id.replace("/", "--")


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def store_snapshot(
    cache_dir: Path,
    repo_id: str,
    files: Mapping[str, Path | bytes],
    *,
    commit_hash: str | None = None,
    ref: str | None = "main",
) -> Path:
    """Store ``files`` (relative name -> source path or bytes) as one snapshot of ``repo_id``.

    Blobs are content-addressed; the snapshot is built in a temporary folder and renamed into
    place, so a failure leaves no half snapshot. Returns the snapshot path.
    """
    repo_dir = Path(cache_dir) / repo_folder_name(repo_id)
    staging = Path(tempfile.mkdtemp(prefix=".mlxk-", dir=_ensure(Path(cache_dir))))
    try:
        blobs: dict[str, Path] = {}
        for name, source in files.items():
            if name.startswith("/") or ".." in Path(name).parts:
                raise UnsafePath(f"Refusing file name '{name}' outside the snapshot")
            tmp = staging / "blob.tmp"
            if isinstance(source, bytes):
                tmp.write_bytes(source)
            else:
                shutil.copyfile(source, tmp)
            digest = file_sha256(tmp)
            tmp.rename(staging / digest)
            blobs[name] = staging / digest
        if commit_hash is None:
            h = hashlib.sha1(repo_id.encode())
            for name in sorted(blobs):
                h.update(name.encode() + blobs[name].name.encode())
            commit_hash = h.hexdigest()
        blob_dir = _ensure(repo_dir / "blobs")
        snapshot = repo_dir / "snapshots" / commit_hash
        snap_tmp = staging / "snapshot"
        for name, blob in blobs.items():
            target = blob_dir / blob.name
            if not target.exists():
                os.replace(blob, target)
            link = snap_tmp / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(target, snapshot / Path(name).parent))
        _ensure(snapshot.parent)
        if snapshot.exists():
            shutil.rmtree(snapshot)
        os.replace(snap_tmp, snapshot)
        if ref:
            refs = _ensure(repo_dir / "refs")
            (refs / ref).write_text(commit_hash)
        return snapshot
    except OSError as exc:
        raise CacheError(f"Could not write {repo_id} into the cache: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
