"""Health lists every reason a model folder cannot be loaded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlxk_core.cache.health import check_health
from tests.factory import variants as v


def _reasons(path: Path) -> tuple[str, ...]:
    return check_health(path).reasons


def test_healthy_variants(hf_cache: Path) -> None:
    for make in (v.make_mlx_model, v.make_sharded, v.make_gguf_only, v.make_pytorch_only,
                 v.make_embedding):
        health = check_health(make(hf_cache))
        assert health.healthy, (make.__name__, health.reasons)
        assert health.reasons == ()


def test_lfs_pointer_is_unhealthy(hf_cache: Path) -> None:
    assert _reasons(v.make_lfs_pointer(hf_cache)) == (
        "model.safetensors is a Git LFS pointer, not the real file",
    )


def test_missing_shard_is_unhealthy(hf_cache: Path) -> None:
    assert _reasons(v.make_missing_shard(hf_cache)) == (
        "model.safetensors.index.json maps tensors to a missing shard: "
        "model-00002-of-00002.safetensors",
    )


def _local(tmp_path: Path, **files: bytes) -> Path:
    base = {
        "config.json": b"{}",
        "model.safetensors": v.mlx_weights(),
        "tokenizer.json": b"{}",
    }
    base.update(files)
    for name, data in base.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def test_local_folder_is_checked_the_same_way(tmp_path: Path) -> None:
    assert check_health(_local(tmp_path)).healthy


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"config.json": b"{not json"}, "config.json does not parse as a JSON object"),
        ({"model.safetensors": b""}, "model.safetensors is empty"),
        ({"model.safetensors.index.json": b"[]"},
         "model.safetensors.index.json does not parse (no weight_map)"),
    ],
)
def test_each_file_problem_has_a_reason(
    tmp_path: Path, change: dict[str, bytes], reason: str
) -> None:
    assert _reasons(_local(tmp_path, **change)) == (reason,)


def test_missing_pieces_are_all_listed(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hi")
    assert _reasons(tmp_path) == (
        "config.json is missing",
        "no weight files (*.safetensors, *.gguf, *.bin)",
        "no tokenizer file (tokenizer.json, tokenizer.model or vocab files)",
    )


@pytest.mark.parametrize("tokenizer", ["tokenizer.model", "vocab.json", "vocab.txt", "o.tiktoken"])
def test_any_tokenizer_file_will_do(tmp_path: Path, tokenizer: str) -> None:
    local = _local(tmp_path)
    (local / "tokenizer.json").rename(local / tokenizer)
    assert check_health(local).healthy


def test_dangling_links_are_reported(tmp_path: Path) -> None:
    local = _local(tmp_path)
    os.symlink(tmp_path / "gone.bin", local / "model-2.safetensors")
    os.symlink(tmp_path / "gone.json", local / "generation_config.json")
    assert _reasons(local) == (
        "model-2.safetensors: broken link (its blob is missing)",
        "generation_config.json: broken link (its blob is missing)",
    )


def test_dangling_blob_in_cache_snapshot(hf_cache: Path) -> None:
    snap = v.make_mlx_model(hf_cache)
    (snap / "model.safetensors").resolve().unlink()
    assert _reasons(snap) == ("model.safetensors: broken link (its blob is missing)",)


def test_gguf_file_must_be_gguf(tmp_path: Path) -> None:
    (tmp_path / "m-Q4_0.gguf").write_bytes(b"not a gguf at all")
    assert _reasons(tmp_path) == ("m-Q4_0.gguf is not a GGUF file",)


def test_sharded_index_in_subfolder(tmp_path: Path) -> None:
    local = _local(tmp_path)
    sub = local / "sub"
    sub.mkdir()
    (sub / "a.safetensors").write_bytes(v.torch_weights())
    index = {"weight_map": {"x": "a.safetensors", "y": "b.safetensors"}}
    (sub / "model.safetensors.index.json").write_text(json.dumps(index))
    assert _reasons(local) == (
        "sub/model.safetensors.index.json maps tensors to a missing shard: b.safetensors",
    )


def test_not_a_folder(tmp_path: Path) -> None:
    health = check_health(tmp_path / "nope")
    assert not health.healthy and "is not a folder" in health.reasons[0]
