"""CacheIndex follows the cache: a name resolves by reading one repo, changes are seen at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import mlxk_core.cache.index as index_module
from mlxk_core import CacheIndex, ModelNotFound
from mlxk_core.cache.store import store_snapshot
from tests.factory import variants as v


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The repo ids the index scans, in order."""
    seen: list[str] = []
    real = index_module.scan_repo

    def counted(root: Path, path: Path, repo_id: str) -> object:
        seen.append(repo_id)
        return real(root, path, repo_id)

    monkeypatch.setattr(index_module, "scan_repo", counted)
    return seen


def test_resolving_a_name_in_a_large_cache_reads_one_repo(hf_cache: Path, scans: list[str]
                                                          ) -> None:
    for i in range(300):
        v.make_pytorch_only(hf_cache, f"org{i:03d}/model")
    v.make_mlx_model(hf_cache, "mlx-community/Tiny-Chat-4bit")
    index = CacheIndex(hf_cache)
    assert index.resolve("Tiny-Chat-4bit").repo_id == "mlx-community/Tiny-Chat-4bit"
    assert scans == ["mlx-community/Tiny-Chat-4bit"]
    index.resolve("mlx-community/Tiny-Chat-4bit")
    assert scans == ["mlx-community/Tiny-Chat-4bit"]  # unchanged: not read again


def test_a_new_revision_a_new_repo_and_a_removal_are_seen_by_the_next_call(
    hf_cache: Path, scans: list[str]
) -> None:
    v.make_mlx_model(hf_cache, "org/a")
    index = CacheIndex(hf_cache)
    first = index.resolve("org/a")
    files = {p.name: p for p in first.path.iterdir()}
    store_snapshot(hf_cache, "org/a", {**files, "extra.txt": b"new"}, ref="main")
    second = index.resolve("org/a")
    assert second.commit_hash != first.commit_hash
    assert index.resolve(f"org/a@{first.commit_hash[:8]}").path == first.path
    with pytest.raises(ModelNotFound):
        index.resolve("org/b")
    v.make_mlx_model(hf_cache, "org/b")
    assert index.resolve("org/b").repo_id == "org/b"
    shutil.rmtree(hf_cache / "models--org--a")
    with pytest.raises(ModelNotFound):
        index.resolve("org/a")
    assert [m.repo_id for m in index.models()] == ["org/b"]
