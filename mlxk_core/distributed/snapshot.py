"""Finding rank 0's snapshot on this rank, and a digest that tells two copies apart."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlxk_core.distributed.checks import ModelCheck
from mlxk_core.distributed.protocol import ModelRef
from mlxk_core.errors import MlxkError
from mlxk_core.settings import Settings

__all__ = ["find_snapshot", "snapshot_digest"]


def snapshot_digest(path: Path) -> str:
    """A digest of a model folder: config.json's bytes and every file's name and size."""
    digest = hashlib.sha256()
    config = path / "config.json"
    digest.update(config.read_bytes() if config.is_file() else b"")
    for item in sorted(path.iterdir()):
        if item.is_file():
            digest.update(f"\0{item.name}\0{item.stat().st_size}".encode())
    return digest.hexdigest()


def find_snapshot(
    ref: ModelRef, *, rank: int, host: str, settings: Settings
) -> tuple[ModelCheck, Path | None]:
    """This rank's copy of ``ref`` (the same commit, else what it has instead) and its path."""
    if ref.repo_id is None:  # a local folder: the same path on every host
        folder = Path(ref.path)
        if not (folder / "config.json").is_file():
            return ModelCheck(rank, host, problem=f"no model folder at {folder}"), None
        return ModelCheck(rank, host, digest=snapshot_digest(folder)), folder
    from mlxk_core.cache.index import CacheIndex

    index = CacheIndex.from_settings(settings)
    wanted = f"{ref.repo_id}@{ref.commit}" if ref.commit else ref.repo_id
    for name in (wanted, ref.repo_id):
        try:
            found = index.resolve(name, allow_local=False)
        except MlxkError:
            continue
        if not found.health.healthy:
            reasons = "; ".join(found.health.reasons)
            return ModelCheck(rank, host, found.commit_hash, problem=(
                f"its copy of {ref.name} is damaged ({reasons}): run `mlxk pull {wanted}` there"
            )), None
        check = ModelCheck(rank, host, found.commit_hash, snapshot_digest(found.path))
        return check, found.path
    return ModelCheck(rank, host, problem=(
        f"{ref.name} is not in its cache ({settings.cache_dir}): run `mlxk pull {wanted}` there"
    )), None
