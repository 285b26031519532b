"""Removal: a plan with the bytes it frees, executed through huggingface_hub, inside the cache."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from huggingface_hub import scan_cache_dir

from mlxk_core.cache.index import CacheIndex
from mlxk_core.errors import UnsafePath
from tests.factory import variants as v

MakeIndex = Callable[[], CacheIndex]
NAME = "mlx-community/Tiny-Two-Revisions"


def test_removing_a_revision_keeps_the_shared_blob(hf_cache: Path, make_index: MakeIndex) -> None:
    main = v.make_two_revisions(hf_cache)
    repo = main.parent.parent
    weights = (main / "model.safetensors").read_bytes()
    plan = make_index().plan_removal(f"{NAME}@v1")
    assert plan.repo_id == NAME and plan.commit_hashes == ("1" * 40,) and not plan.whole_repo
    # only the old config differs: the weights blob is shared with main and survives
    old_config = (repo / "snapshots" / ("1" * 40) / "config.json").resolve()
    assert plan.freed_bytes == old_config.stat().st_size
    hub_plan = scan_cache_dir(hf_cache).delete_revisions("1" * 40)
    assert plan.freed_bytes == hub_plan.expected_freed_size
    assert repo / "snapshots" / ("1" * 40) in plan.paths and old_config in plan.paths

    plan.execute()
    assert not (repo / "snapshots" / ("1" * 40)).exists()
    assert not (repo / "refs" / "v1").exists() and not old_config.exists()
    assert (main / "model.safetensors").read_bytes() == weights
    (model,) = make_index().models()
    assert [r.commit_hash for r in model.revisions] == ["2" * 40] and model.healthy


def test_removing_a_whole_repo(hf_cache: Path, make_index: MakeIndex) -> None:
    v.make_two_revisions(hf_cache)
    v.make_mlx_model(hf_cache)
    index = make_index()
    plan = index.plan_removal(NAME)
    model = next(m for m in index.models() if m.repo_id == NAME)
    assert plan.whole_repo and set(plan.commit_hashes) == {"1" * 40, "2" * 40}
    assert plan.freed_bytes == model.size_on_disk
    assert plan.paths == (model.repo_path,)
    plan.execute()
    assert not model.repo_path.exists()
    assert [m.repo_id for m in make_index().models()] == ["mlx-community/Tiny-Chat-4bit"]


def test_only_revision_means_whole_repo(hf_cache: Path, make_index: MakeIndex) -> None:
    snap = v.make_mlx_model(hf_cache)
    plan = make_index().plan_removal(f"Tiny-Chat-4bit@{snap.name[:8]}")
    assert plan.whole_repo
    plan.execute()
    assert make_index().models() == ()


def test_plan_is_a_frozen_value_and_deletes_nothing(hf_cache: Path, make_index: MakeIndex) -> None:
    snap = v.make_mlx_model(hf_cache)
    plan = make_index().plan_removal("Tiny-Chat-4bit")
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.whole_repo = False  # type: ignore[misc]
    assert snap.exists()


def test_broken_repo_is_still_removable(hf_cache: Path, make_index: MakeIndex) -> None:
    snap = v.make_lfs_pointer(hf_cache)
    (snap / "config.json").resolve().unlink()  # dangling link: huggingface_hub calls it corrupted
    assert scan_cache_dir(hf_cache).warnings
    no_snaps = hf_cache / "models--org--no-snapshots"
    (no_snaps / "blobs").mkdir(parents=True)
    (no_snaps / "blobs" / "x").write_bytes(b"12345")
    index = make_index()
    plan = index.plan_removal("org/no-snapshots")
    assert plan.freed_bytes == 5
    plan.execute()
    index.plan_removal("mlx-community/Tiny-LFS-Pointer").execute()
    assert make_index().models() == ()


def test_revision_of_a_broken_repo(hf_cache: Path, make_index: MakeIndex) -> None:
    main = v.make_two_revisions(hf_cache)
    (main / "tokenizer.json").resolve().unlink()  # corrupts the repo for huggingface_hub
    make_index().plan_removal(f"{NAME}@v1").execute()
    (model,) = make_index().models()
    assert [r.commit_hash for r in model.revisions] == ["2" * 40]
    assert (main / "model.safetensors").stat().st_size > 0  # shared blob survived


@pytest.mark.parametrize("name", ["../x", "/etc", "org/../../etc", "..", "a/b/../c"])
def test_unsafe_names_are_refused(hf_cache: Path, make_index: MakeIndex, name: str) -> None:
    v.make_mlx_model(hf_cache)
    with pytest.raises(UnsafePath):
        make_index().plan_removal(name)


def test_repo_with_a_link_escaping_the_cache_is_refused(
    hf_cache: Path, tmp_path: Path, make_index: MakeIndex
) -> None:
    snap = v.make_mlx_model(hf_cache)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    os.symlink(precious, snap / "escape")
    with pytest.raises(UnsafePath):
        make_index().plan_removal("Tiny-Chat-4bit")
    assert (precious / "keep.txt").exists()


def test_execute_rechecks_before_deleting(
    hf_cache: Path, tmp_path: Path, make_index: MakeIndex
) -> None:
    snap = v.make_mlx_model(hf_cache)
    plan = make_index().plan_removal("Tiny-Chat-4bit")
    precious = tmp_path / "precious.txt"
    precious.write_text("keep")
    os.symlink(precious, snap / "late-link")
    with pytest.raises(UnsafePath):
        plan.execute()
    assert precious.exists() and snap.exists()


def test_repo_folder_that_is_a_link_is_refused(
    hf_cache: Path, tmp_path: Path, make_index: MakeIndex
) -> None:
    snap = v.make_mlx_model(hf_cache)
    plan = make_index().plan_removal("Tiny-Chat-4bit")
    elsewhere = tmp_path / "elsewhere"
    shutil.move(str(plan.repo_path), elsewhere)
    os.symlink(elsewhere, plan.repo_path)
    with pytest.raises(UnsafePath):
        plan.execute()
    assert (elsewhere / "snapshots" / snap.name).exists()
