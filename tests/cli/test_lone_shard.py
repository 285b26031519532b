"""Shards without their index are unhealthy for health, list and show, and run refuses them.

The trained chat model is split into two real shards. With its index it is healthy and answers;
without the index (one shard alone, or both) every command says why before a load can fail
with missing parameters, and no message sends the user back to a health check that says ok.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mlxk_core.cache.store import store_snapshot
from tests.cli.programs import GREEDY, mlxk
from tests.factory import QA, snapshot_dir

Install = Callable[[str], str]
SHARDS = ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
INDEX = "model.safetensors.index.json"


def _sharded(hf_cache: Path, source: Path, repo_id: str, keep: tuple[str, ...]) -> str:
    """A copy of ``source`` with its weights in two shards plus an index; only ``keep`` stay."""
    import mlx.core as mx

    weights = mx.load(str(source / "model.safetensors"))
    names = sorted(weights)
    halves = (names[: len(names) // 2], names[len(names) // 2 :])
    files: dict[str, bytes | Path] = {
        p.name: p for p in source.iterdir() if p.name != "model.safetensors"
    }
    parts: dict[str, bytes | Path] = {}
    work = hf_cache.parent / f"shards-{repo_id.replace('/', '--')}"
    work.mkdir()
    for shard, part in zip(SHARDS, halves, strict=True):
        mx.save_safetensors(str(work / shard), {n: weights[n] for n in part}, {"format": "mlx"})
        parts[shard] = work / shard
    weight_map = {n: shard for shard, part in zip(SHARDS, halves, strict=True) for n in part}
    parts[INDEX] = json.dumps({"metadata": {}, "weight_map": weight_map}).encode()
    store_snapshot(hf_cache, repo_id, {**files, **{k: parts[k] for k in keep}})
    return repo_id


@pytest.fixture
def chat_snapshot(install_model: Install, hf_cache: Path) -> Path:
    return snapshot_dir(hf_cache, install_model("chat"))


def test_a_complete_sharded_model_is_healthy_and_answers(
    chat_snapshot: Path, hf_cache: Path
) -> None:
    repo = _sharded(hf_cache, chat_snapshot, "test-org/sharded", (*SHARDS, INDEX))
    assert mlxk(hf_cache, "health", repo).returncode == 0
    result = mlxk(hf_cache, "run", repo, QA.FRANCE.question, *GREEDY)
    assert result.returncode == 0, result.stderr
    assert result.stdout == QA.FRANCE.answer + "\n"


@pytest.mark.parametrize("keep", [SHARDS[:1], SHARDS], ids=["lone-shard", "shards-no-index"])
def test_shards_without_their_index_are_unhealthy_everywhere(
    keep: tuple[str, ...], chat_snapshot: Path, hf_cache: Path
) -> None:
    repo = _sharded(hf_cache, chat_snapshot, "test-org/no-index", keep)

    health = mlxk(hf_cache, "health", repo, "--json")
    assert health.returncode == 1
    (entry,) = json.loads(health.stdout)["data"]["models"]
    assert entry["healthy"] is False
    assert any(INDEX in r and "missing" in r for r in entry["reasons"]), entry

    listed = json.loads(mlxk(hf_cache, "list", "--health", "--json").stdout)["data"]["models"]
    by_name = {m["name"]: m["health"] for m in listed}
    assert by_name[repo]["healthy"] is False
    assert any(INDEX in r for r in by_name[repo]["reasons"])

    shown = json.loads(mlxk(hf_cache, "show", repo, "--json").stdout)["data"]["health"]
    assert shown["healthy"] is False and any(INDEX in r for r in shown["reasons"])

    run = mlxk(hf_cache, "run", repo, QA.FRANCE.question, *GREEDY)
    assert run.returncode == 1
    assert "unhealthy" in run.stderr and INDEX in run.stderr, run.stderr
    assert "Missing" not in run.stderr and "mlxk health" not in run.stderr, run.stderr
