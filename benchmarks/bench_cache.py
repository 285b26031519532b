"""A big cache: `mlxk list --json` and the server's per-request cost on 1,000 repos.

The cache holds the real model plus synthetic MLX, PyTorch and GGUF repos (some sharded, some
with two revisions). `mlxk list --json` and `mlxk --version` run as fresh subprocesses against
huggingface_hub's scan and import (interpreter start included, as a user meets them; best of
a few runs). Then ``mlxk-serve`` answers one-token requests for the real model on that cache
and on a cache holding the model alone: the median time per request on each.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.context import Context, Models, console_script
from benchmarks.http import free_port, one_request, server
from benchmarks.report import Row
from benchmarks.text import fresh_text
from mlxk_core.cache.store import store_snapshot
from tests.factory import variants as v

TITLE = "A cache of many repos: listing, start-up and the server's per-request cost"


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


def build_cache(cache: Path, repos: int) -> None:
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


def best_of(cmd: list[str], env: dict[str, str], repeats: int) -> float:
    """The fastest wall time of ``repeats`` runs of ``cmd`` (output discarded)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def _per_request(ctx: Context, models: Models, cache: Path, log: str) -> float:
    """Median seconds of a one-token request to ``mlxk-serve`` serving ``cache``."""
    env = {**models.env(), "HF_HUB_CACHE": str(cache)}
    argv = [console_script("mlxk-serve"), "--port", str(port := free_port()), "--model",
            models.gguf_repo, "--log-level", "warning"]
    with server(argv, port, env, ctx.work / log) as url:
        for _ in range(2):  # load and warm up: not timed
            one_request(url, models.gguf_repo, fresh_text(models.tokenizer_json, 8, ctx.seed()))
        return statistics.median(
            one_request(url, models.gguf_repo, fresh_text(models.tokenizer_json, 8, ctx.seed()))
            for _ in range(ctx.sizes.requests)
        )


def run(ctx: Context) -> list[Row]:
    """Build the big cache, time both pairs, then the server on both caches."""
    models, sizes = ctx.models(), ctx.sizes
    big = ctx.work / "big-hub"
    build_cache(big, sizes.repos - 1)
    store_snapshot(big, models.gguf_repo, {p.name: p for p in models.gguf_snapshot.iterdir()})
    env = {**os.environ, "HF_HUB_CACHE": str(big), "HF_HUB_DISABLE_TELEMETRY": "1"}
    scan = f"from huggingface_hub import scan_cache_dir; scan_cache_dir({str(big)!r})"
    best = f"best of {sizes.repeats}"
    rows = [
        Row("cache.list", f"`mlxk list --json`, {sizes.repos:,} repos ({best})", "s",
            best_of([console_script("mlxk"), "list", "--json"], env, sizes.repeats),
            "`scan_cache_dir()` in a fresh Python", best_of([sys.executable, "-c", scan], env,
                                                             sizes.repeats),
            "lower", 1.5, headline=f"`mlxk list --json` on {sizes.repos:,} repos vs "
            "`scan_cache_dir()`"),
        Row("cache.version", f"`mlxk --version` ({best})", "s",
            best_of([console_script("mlxk"), "--version"], env, sizes.repeats),
            "`python -c \"import huggingface_hub\"`",
            best_of([sys.executable, "-c", "import huggingface_hub"], env, sizes.repeats),
            "lower"),
    ]
    on_big = _per_request(ctx, models, big, "mlxk-serve-big.log")
    alone = _per_request(ctx, models, models.cache, "mlxk-serve-small.log")
    rows.append(Row(
        "cache.per_request", f"one-token request to mlxk-serve, cache of {sizes.repos:,} repos "
        f"(median of {sizes.requests})", "s", on_big,
        "the same request, cache of this run's 2 models", alone, "lower", 1.5,
        headline=f"one-token request on a cache of {sizes.repos:,} repos vs a small cache",
    ))
    return rows
