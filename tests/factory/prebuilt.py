"""Built variants cached on disk between runs (keyed by the factory source); installing them."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

from tests.factory.embedding import EMBED_REPO_IDS
from tests.factory.models import VARIANTS, build_all

__all__ = ["CACHE_ROOT", "build_model", "fingerprint", "prebuilt_hub", "snapshot_dir"]

CACHE_ROOT = Path(__file__).resolve().parent.parent / ".factory-cache"
SOURCES = ("corpus.py", "tokenizer.py", "training.py", "models.py", "prebuilt.py", "embedding.py")
LIBRARIES = ("mlx", "mlx-lm", "mlx-embeddings", "tokenizers", "transformers")
STALE_AFTER_S = 3600


def fingerprint() -> str:
    """Hash of the factory's source and the library versions: a change means a rebuild."""
    h = hashlib.sha256()
    for name in SOURCES:
        h.update((Path(__file__).parent / name).read_bytes())
    for lib in LIBRARIES:
        h.update(f"{lib}=={version(lib)}".encode())
    return h.hexdigest()[:16]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prune(root: Path) -> None:
    """Drop builds of older factory sources (after an hour: a running session may still copy)."""
    for stale in root.iterdir():
        if stale.is_dir() and time.time() - stale.stat().st_mtime > STALE_AFTER_S:
            shutil.rmtree(stale, ignore_errors=True)


def prebuilt_hub(root: Path = CACHE_ROOT) -> Path:
    """The hub folder holding every variant, built once (one builder at a time) and reused."""
    key = fingerprint()
    done = root / key / "COMPLETE"
    if done.exists():
        return root / key / "hub"
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / ".lock"):
        if not done.exists():
            _prune(root)
            staging = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
            try:
                build_all(staging / "hub")
                (staging / "COMPLETE").write_text(key + "\n")
                staging.rename(root / key)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return root / key / "hub"


def build_model(variant: str, cache_dir: Path) -> str:
    """Install the prebuilt ``variant`` into the hub cache ``cache_dir``; return its repo id."""
    repo_ids = {name: spec.repo_id for name, spec in VARIANTS.items()} | EMBED_REPO_IDS
    if variant not in repo_ids:
        raise KeyError(f"unknown factory variant {variant!r}; choose from {sorted(repo_ids)}")
    repo_id = repo_ids[variant]
    folder = "models--" + repo_id.replace("/", "--")
    shutil.copytree(
        prebuilt_hub() / folder, Path(cache_dir) / folder, symlinks=True, dirs_exist_ok=True
    )
    return repo_id


def snapshot_dir(cache_dir: Path, repo_id: str) -> Path:
    """The snapshot folder that ``refs/main`` of ``repo_id`` points at in ``cache_dir``."""
    repo = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    return repo / "snapshots" / (repo / "refs" / "main").read_text().strip()
