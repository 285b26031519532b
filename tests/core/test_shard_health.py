"""Shard files need their index: without it, health says so (one reason per missing index)."""

from __future__ import annotations

from pathlib import Path

from mlxk_core.cache.health import check_health
from mlxk_core.cache.store import store_snapshot
from tests.factory import variants as v


def _without(hf_cache: Path, repo_id: str, *dropped: str) -> Path:
    healthy = v.make_sharded(hf_cache, "test-org/source")
    files = {p.name: p for p in healthy.iterdir() if p.name not in dropped}
    return store_snapshot(hf_cache, repo_id, files)


def test_a_lone_shard_without_its_index_is_unhealthy(hf_cache: Path) -> None:
    second = "model-00002-of-00002.safetensors"
    lone = _without(hf_cache, "test-org/lone", "model.safetensors.index.json", second)
    assert check_health(lone).reasons == (
        "model-00001-of-00002.safetensors: shard without an index "
        "(model.safetensors.index.json is missing)",
    )


def test_every_shard_present_but_no_index_is_one_reason(hf_cache: Path) -> None:
    shards = _without(hf_cache, "test-org/no-index", "model.safetensors.index.json")
    assert check_health(shards).reasons == (
        "model-00001-of-00002.safetensors, model-00002-of-00002.safetensors: shards without an "
        "index (model.safetensors.index.json is missing)",
    )


def test_shards_with_their_index_and_unsharded_names_are_fine(hf_cache: Path) -> None:
    assert check_health(v.make_sharded(hf_cache)).healthy
    assert check_health(v.make_mlx_model(hf_cache)).healthy
