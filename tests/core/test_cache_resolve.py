"""Name resolution: full ids, short names, @revisions, local folders, and refusals."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mlxk_core.cache.index import CacheIndex
from mlxk_core.cache.store import store_snapshot
from mlxk_core.errors import AmbiguousModel, ModelNotFound, UnhealthyModel, UnsafePath
from tests.factory import variants as v

MakeIndex = Callable[[], CacheIndex]


def test_full_id_and_case_insensitive(hf_cache: Path, make_index: MakeIndex) -> None:
    snap = v.make_mlx_model(hf_cache)
    index = make_index()
    resolved = index.resolve("mlx-community/Tiny-Chat-4bit")
    assert resolved.path == snap
    assert resolved.repo_id == "mlx-community/Tiny-Chat-4bit"
    assert resolved.commit_hash == snap.name
    assert resolved.facts.framework == "mlx" and resolved.health.healthy
    assert index.resolve("MLX-Community/tiny-chat-4BIT").path == snap


def test_short_name_matching_one_repo(hf_cache: Path, make_index: MakeIndex) -> None:
    snap = v.make_mlx_model(hf_cache)
    model, rev = make_index().get("Tiny-Chat-4bit")
    assert model.repo_id == "mlx-community/Tiny-Chat-4bit" and rev.snapshot_path == snap


def test_mlx_community_wins_a_tie(hf_cache: Path, make_index: MakeIndex) -> None:
    v.make_pytorch_only(hf_cache, "someone/Tiny")
    v.make_mlx_model(hf_cache, "mlx-community/Tiny")
    assert make_index().resolve("Tiny").repo_id == "mlx-community/Tiny"


def test_ambiguous_short_name_lists_candidates(hf_cache: Path, make_index: MakeIndex) -> None:
    v.make_pytorch_only(hf_cache, "alice/Tiny")
    v.make_pytorch_only(hf_cache, "bob/Tiny")
    with pytest.raises(AmbiguousModel) as err:
        make_index().resolve("Tiny")
    assert err.value.candidates == ("alice/Tiny", "bob/Tiny")
    assert "org/name" in str(err.value)


def test_unknown_name_suggests_close_matches(hf_cache: Path, make_index: MakeIndex) -> None:
    v.make_mlx_model(hf_cache)
    v.make_pytorch_only(hf_cache)
    with pytest.raises(ModelNotFound) as err:
        make_index().resolve("mlx-community/Tiny-Chat-4bt")
    assert err.value.suggestions == ("mlx-community/Tiny-Chat-4bit",)
    assert "did you mean" in str(err.value) and "mlxk pull" in str(err.value)
    with pytest.raises(ModelNotFound) as err:
        make_index().resolve("nothing-like-it")
    assert err.value.suggestions == ()


def test_revision_by_ref_and_hash_prefix(hf_cache: Path, make_index: MakeIndex) -> None:
    v.make_two_revisions(hf_cache)
    index = make_index()
    name = "mlx-community/Tiny-Two-Revisions"
    assert index.resolve(name).commit_hash == "2" * 40  # main
    assert index.resolve(f"{name}@v1").commit_hash == "1" * 40
    assert index.resolve(f"{name}@main").commit_hash == "2" * 40
    assert index.resolve("Tiny-Two-Revisions@1111").commit_hash == "1" * 40
    _, rev = index.get(f"{name}@{'1' * 40}")
    assert rev.refs == ("v1",)
    with pytest.raises(ModelNotFound) as err:
        index.resolve(f"{name}@abc")
    assert err.value.suggestions == (f"{name}@{'2' * 12}", f"{name}@{'1' * 12}")
    with pytest.raises(ModelNotFound):
        index.resolve(f"{name}@")


def test_ambiguous_hash_prefix(hf_cache: Path, make_index: MakeIndex) -> None:
    files = {"config.json": b"{}"}
    store_snapshot(hf_cache, "org/m", files, commit_hash="ab" + "1" * 38)
    store_snapshot(hf_cache, "org/m", {"a.json": b"{}"}, commit_hash="ab" + "2" * 38)
    with pytest.raises(AmbiguousModel) as err:
        make_index().get("org/m@ab")
    assert len(err.value.candidates) == 2


def test_local_model_directory(tmp_path: Path, make_index: MakeIndex, hf_cache: Path) -> None:
    local = tmp_path / "my-model"
    shutil.copytree(v.make_mlx_model(hf_cache), local)  # follows links: real files
    resolved = make_index().resolve(str(local))
    assert resolved.path == local and resolved.repo_id is None
    assert resolved.facts.framework == "mlx" and resolved.health.healthy


def test_relative_local_directory_after_cache_miss(
    tmp_path: Path, make_index: MakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "models" / "mine").mkdir(parents=True)
    (tmp_path / "models" / "mine" / "config.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert make_index().resolve("models/mine").path == tmp_path / "models" / "mine"
    assert make_index().resolve("./models/mine").path == tmp_path / "models" / "mine"


def test_folder_without_config_is_not_a_model(tmp_path: Path, make_index: MakeIndex) -> None:
    with pytest.raises(ModelNotFound):
        make_index().resolve(str(tmp_path))


def test_local_paths_can_be_refused(tmp_path: Path, make_index: MakeIndex) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UnsafePath):
        make_index().resolve(str(tmp_path), allow_local=False)


@pytest.mark.parametrize(
    "name", ["../etc", "org/../../x", "..", "mlx-community/..", "a\\b", "~root/x"]
)
def test_traversal_names_are_refused(hf_cache: Path, make_index: MakeIndex, name: str) -> None:
    v.make_mlx_model(hf_cache)
    with pytest.raises((UnsafePath, ModelNotFound)):
        make_index().get(name)
    with pytest.raises((UnsafePath, ModelNotFound)):
        make_index().resolve(name, allow_local=False)


def test_absolute_path_into_cache_internals_is_refused(
    hf_cache: Path, make_index: MakeIndex
) -> None:
    snap = v.make_mlx_model(hf_cache)
    index = make_index()
    for inside in (hf_cache, snap.parent.parent, snap.parent.parent / "blobs"):
        with pytest.raises(UnsafePath):
            index.resolve(str(inside))
    assert index.resolve(str(snap)).commit_hash == snap.name  # a snapshot itself is fine


def test_snapshot_linking_outside_is_never_resolved(
    hf_cache: Path, tmp_path: Path, make_index: MakeIndex
) -> None:
    snap = v.make_mlx_model(hf_cache)
    outside = tmp_path / "evil.safetensors"
    outside.write_bytes(v.mlx_weights())
    (snap / "model.safetensors").unlink()
    os.symlink(outside, snap / "model.safetensors")
    with pytest.raises(UnsafePath):
        make_index().resolve("mlx-community/Tiny-Chat-4bit")


def test_repo_without_snapshot_is_unhealthy(hf_cache: Path, make_index: MakeIndex) -> None:
    (hf_cache / "models--org--empty" / "snapshots").mkdir(parents=True)
    with pytest.raises(UnhealthyModel):
        make_index().get("org/empty")
