"""Scanning the hub cache: typed records, broken layouts as warnings, never a crash."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from huggingface_hub import scan_cache_dir

from mlxk_core.cache.index import CacheIndex
from mlxk_core.settings import Settings
from tests.factory import variants as v

MakeIndex = Callable[[], CacheIndex]


def test_records_describe_each_repo_and_revision(hf_cache: Path, make_index: MakeIndex) -> None:
    snap = v.make_mlx_model(hf_cache)
    (model,) = make_index().models()
    assert model.repo_id == "mlx-community/Tiny-Chat-4bit"
    assert model.repo_path == hf_cache / "models--mlx-community--Tiny-Chat-4bit"
    (rev,) = model.revisions
    assert rev.commit_hash == snap.name and len(rev.commit_hash) == 40
    assert rev.refs == ("main",)
    assert rev.snapshot_path == snap
    names = [f.name for f in rev.files]
    assert names == sorted(["config.json", "model.safetensors", "tokenizer.json",
                            "tokenizer_config.json"])
    weights = next(f for f in rev.files if f.name == "model.safetensors")
    assert weights.size == (snap / "model.safetensors").stat().st_size
    assert weights.blob_path is not None and weights.blob_path.parent.name == "blobs"
    assert rev.size_on_disk == sum(f.size for f in rev.files) == model.size_on_disk
    assert rev.last_modified > 0 and model.healthy and model.latest is rev


def test_sizes_match_huggingface_hub(hf_cache: Path, make_index: MakeIndex) -> None:
    v.make_two_revisions(hf_cache)
    v.make_gguf_only(hf_cache)
    hub = {r.repo_id: r for r in scan_cache_dir(hf_cache).repos}
    for model in make_index().models():
        assert model.size_on_disk == hub[model.repo_id].size_on_disk
        hub_revs = {r.commit_hash: r.size_on_disk for r in hub[model.repo_id].revisions}
        assert {r.commit_hash: r.size_on_disk for r in model.revisions} == hub_revs


def test_models_sorted_following_the_cache_and_unchanged_repos_not_rescanned(
    hf_cache: Path, make_index: MakeIndex
) -> None:
    v.make_pytorch_only(hf_cache, "zeta/B")
    v.make_pytorch_only(hf_cache, "alpha/A")
    index = make_index()
    first = index.models()
    assert [m.repo_id for m in first] == ["alpha/A", "zeta/B"]
    v.make_pytorch_only(hf_cache, "mid/C")
    now = index.models()
    assert [m.repo_id for m in now] == ["alpha/A", "mid/C", "zeta/B"]
    assert now[0] is first[0] and now[2] is first[1]  # the same records: not scanned again
    shutil.rmtree(hf_cache / "models--zeta--B")
    assert [m.repo_id for m in index.models()] == ["alpha/A", "mid/C"]
    index.refresh()
    assert index.models()[0] is not first[0]


def test_missing_cache_dir_is_empty(tmp_path: Path) -> None:
    index = CacheIndex(tmp_path / "does-not-exist")
    assert index.models() == () and index.warnings() == ()


def test_from_settings_uses_the_settings_cache(hf_cache: Path) -> None:
    index = CacheIndex.from_settings(Settings.from_env({"HF_HUB_CACHE": str(hf_cache)}))
    assert index.cache_dir == hf_cache


def test_two_revisions_latest_is_main(hf_cache: Path, make_index: MakeIndex) -> None:
    v.make_two_revisions(hf_cache)
    (model,) = make_index().models()
    assert {r.commit_hash: r.refs for r in model.revisions} == {"1" * 40: ("v1",),
                                                                "2" * 40: ("main",)}
    assert model.latest is not None and model.latest.commit_hash == "2" * 40


def test_broken_layouts_become_warnings(hf_cache: Path, make_index: MakeIndex) -> None:
    v.make_mlx_model(hf_cache)
    (hf_cache / "not-a-repo").mkdir()
    (hf_cache / "notes.txt").write_text("x")
    (hf_cache / "models--org--file").write_text("x")
    (hf_cache / ".locks").mkdir()
    (hf_cache / "datasets--org--data").mkdir()
    no_snaps = hf_cache / "models--org--no-snapshots"
    (no_snaps / "blobs").mkdir(parents=True)
    bad_ref = v.make_pytorch_only(hf_cache, "org/bad-ref").parent.parent
    (bad_ref / "refs" / "dev").write_text("f" * 40)
    (bad_ref / "snapshots" / "stray.txt").write_text("x")

    index = make_index()
    models = {m.repo_id: m for m in index.models()}
    assert set(models) == {"mlx-community/Tiny-Chat-4bit", "org/no-snapshots", "org/bad-ref"}
    assert models["org/no-snapshots"].revisions == ()
    assert not models["org/no-snapshots"].healthy
    assert models["org/bad-ref"].warnings == (
        "stray file in snapshots: stray.txt",
        "ref dev points to a missing snapshot ffffffffffff",
    )
    warnings = index.warnings()
    assert "stray folder in the cache: not-a-repo" in warnings
    assert "stray file in the cache: notes.txt" in warnings
    assert any("models--org--file" in w for w in warnings)
    assert "org/no-snapshots: the snapshots folder is missing" in warnings
    assert models["mlx-community/Tiny-Chat-4bit"].healthy


def test_dangling_link_makes_an_unhealthy_entry(hf_cache: Path, make_index: MakeIndex) -> None:
    snap = v.make_mlx_model(hf_cache)
    (snap / "model.safetensors").resolve().unlink()
    (snap / "extra.json").symlink_to("../../blobs/missing")
    (model,) = make_index().models()
    (rev,) = model.revisions
    assert not model.healthy
    assert rev.health.reasons == (
        "model.safetensors: broken link (its blob is missing)",
        "extra.json: broken link (its blob is missing)",
    )


def test_link_escaping_the_cache_is_unhealthy(
    hf_cache: Path, tmp_path: Path, make_index: MakeIndex
) -> None:
    snap = v.make_mlx_model(hf_cache)
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    (snap / "generation_config.json").symlink_to(outside)
    (rev,) = make_index().models()[0].revisions
    assert rev.health.reasons == ("generation_config.json: link points outside the cache",)


def test_escaping_blob_link_is_unhealthy(
    hf_cache: Path, tmp_path: Path, make_index: MakeIndex
) -> None:
    snap = v.make_mlx_model(hf_cache)
    blob = (snap / "config.json").resolve()
    outside = tmp_path / "secret.json"
    outside.write_text("{}")
    blob.unlink()
    blob.symlink_to(outside)
    (rev,) = make_index().models()[0].revisions
    assert "config.json: link points outside the cache" in rev.health.reasons


def test_shared_blob_store_links_stay_inside(hf_cache: Path, make_index: MakeIndex) -> None:
    snap = v.make_mlx_model(hf_cache)
    blob = (snap / "model.safetensors").resolve()
    store = hf_cache / "blobs" / "ab"
    store.mkdir(parents=True)
    os.replace(blob, store / "payload")
    blob.symlink_to(os.path.relpath(store / "payload", blob.parent))
    index = make_index()
    (model,) = index.models()
    assert model.healthy
    assert index.warnings() == ()  # the shared store is not a stray folder


def test_importing_the_index_stays_light() -> None:
    code = (
        "import sys, mlxk_core.cache.index\n"
        "print(','.join(m for m in ('huggingface_hub', 'mlx', 'mlx_lm', 'transformers')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
