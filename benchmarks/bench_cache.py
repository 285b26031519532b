"""Cache listing speed: `mlxk list --json` over 1,000 repos against huggingface_hub's scan.

Both sides run as fresh subprocesses on the same synthetic cache (interpreter start and imports
included, as a user meets them); each figure is the best of ``REPEATS`` runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlxk_core.cache.store import store_snapshot
from tests.factory import variants as v

TITLE = "cache: mlxk list / --version vs huggingface_hub (best of 5, seconds)"
REPOS = 1000
REPEATS = 5


def _repo_files(i: int, kind: str) -> dict[str, Path | bytes]:
    readme = f"---\nlibrary_name: {'mlx' if kind == 'mlx' else 'transformers'}\n---\n# {i}\n"
    if kind == "gguf":
        return {
            f"model-{i}-Q4_K_M.gguf": v.gguf_bytes(2048 + i),
            f"model-{i}-Q8_0.gguf": v.gguf_bytes(4096 + i),
            "README.md": readme.encode(),
        }
    extra = {"quantization": {"group_size": 64, "bits": 4}} if kind == "mlx" else {}
    weights = v.mlx_weights() if kind == "mlx" else v.torch_weights()
    files: dict[str, Path | bytes] = {
        "config.json": v.llama_config(**extra),
        **v.tokenizer_files(),
        "special_tokens_map.json": b'{"eos_token": "<|im_end|>"}',
        "generation_config.json": b'{"eos_token_id": 2}',
        "README.md": readme.encode(),
    }
    if i % 10 == 0:  # sharded, with an index
        shards = [f"model-0000{n}-of-00002.safetensors" for n in (1, 2)]
        weight_map = {"model.embed_tokens.weight": shards[0], "model.norm.weight": shards[1]}
        files["model.safetensors.index.json"] = json.dumps({"weight_map": weight_map}).encode()
        files[shards[0]] = weights
        files[shards[1]] = v.torch_weights("F32")
    else:
        files["model.safetensors"] = weights
    return files


def build_cache(cache: Path, repos: int = REPOS) -> None:
    """A realistic hub cache: MLX, PyTorch and GGUF repos, one in 20 with two revisions."""
    for i in range(repos):
        kind = "gguf" if i % 10 == 3 else "pytorch" if i % 10 in (5, 8) else "mlx"
        org = "mlx-community" if kind == "mlx" else "some-org"
        files = _repo_files(i, kind)
        repo_id = f"{org}/model-{i:04d}-{kind}"
        if i % 20 == 7:
            old = {**files, "config.json": v.llama_config(revision="old")}
            store_snapshot(cache, repo_id, old, ref=None)
        store_snapshot(cache, repo_id, files)


def best_of(cmd: list[str], env: dict[str, str], repeats: int = REPEATS) -> float:
    """The fastest wall time of ``repeats`` runs of ``cmd`` (output discarded)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def _mlxk() -> list[str]:
    script = Path(sys.executable).with_name("mlxk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mlxk_cli"]


def run() -> list[dict[str, object]]:
    """Build the cache, time both pairs, return the table rows."""
    with tempfile.TemporaryDirectory(prefix="mlxk-bench-") as tmp:
        cache = Path(tmp) / "hub"
        build_cache(cache)
        env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_DISABLE_TELEMETRY": "1"}
        scan = f"from huggingface_hub import scan_cache_dir; scan_cache_dir({str(cache)!r})"
        mlxk_list = best_of([*_mlxk(), "list", "--json"], env)
        hf_scan = best_of([sys.executable, "-c", scan], env)
        version = best_of([*_mlxk(), "--version"], env)
        hf_import = best_of([sys.executable, "-c", "import huggingface_hub"], env)
    return [
        _row(f"mlxk list --json ({REPOS} repos)", mlxk_list, "scan_cache_dir()", hf_scan, 1.5),
        _row("mlxk --version", version, "import huggingface_hub", hf_import, None),
    ]


def _row(what: str, ours: float, peer: str, theirs: float, target: float | None) -> dict[
    str, object
]:
    ratio = ours / theirs
    verdict = "-" if target is None else f"<= {target} ({'met' if ratio <= target else 'MISSED'})"
    return {"measure": what, "seconds": ours, "peer": peer, "peer_seconds": theirs,
            "ratio": ratio, "target": verdict}
