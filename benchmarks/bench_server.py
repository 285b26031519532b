"""Concurrency through mlxk's own engine: ``mlxk-serve`` against ``mlx_lm.server`` over HTTP.

Each server runs alone as its own process on the GGUF import; 1/4/8/16 streaming clients send
greedy chat requests at once, each a fresh story request with the same ``max_tokens``. Two peer
rows per figure: ``mlx_lm.server`` as a user runs it (MLX's bundled reference BLAS), and the
same server with the BLAS mlxk loads put under it by ``LD_PRELOAD``, so what mlxk's engine adds
beyond the BLAS is visible. Tokens are the completion tokens each server reports.
"""

from __future__ import annotations

import sys

from benchmarks.context import Context, Models, console_script
from benchmarks.http import Level, free_port, level, server
from benchmarks.report import Row
from benchmarks.text import story_request

TITLE = "Concurrent streaming clients: mlxk-serve vs mlx_lm.server over HTTP"
PLAIN = "mlx_lm.server (reference BLAS)"
BLAS = "mlx_lm.server + mlxk's BLAS (LD_PRELOAD)"
TARGET_CLIENTS, TARGET = 8, 5.0  # >= 5x the plain peer's aggregate at 8 clients


def _levels(ctx: Context, url: str, model: str, seeds: list[list[int]]) -> list[Level]:
    models, sizes = ctx.models(), ctx.sizes
    warm = story_request(models.tokenizer_json, seed=1)
    level(url, model, [warm], 4)  # load, compile, allocate: not timed
    return [level(url, model, [story_request(models.tokenizer_json, s) for s in group],
                  sizes.client_tokens) for group in seeds]


def _mlxk(ctx: Context, models: Models, seeds: list[list[int]]) -> list[Level]:
    argv = [console_script("mlxk-serve"), "--port", str(port := free_port()), "--model",
            models.gguf_repo, "--log-level", "warning"]
    with server(argv, port, models.env(), ctx.work / "mlxk-serve.log") as url:
        return _levels(ctx, url, models.gguf_repo, seeds)


def _peer(ctx: Context, models: Models, seeds: list[list[int]], preload: str | None,
          log: str) -> list[Level]:
    """``mlx_lm.server`` on the same snapshot (``preload``: a BLAS library put under it)."""
    snapshot = str(models.gguf_snapshot)
    argv = [sys.executable, "-m", "mlx_lm.server", "--model", snapshot, "--port",
            str(port := free_port()), "--log-level", "WARNING"]
    env = models.env() | ({"LD_PRELOAD": preload} if preload else {})
    with server(argv, port, env, ctx.work / log) as url:
        return _levels(ctx, url, snapshot, seeds)


def run(ctx: Context) -> list[Row]:
    """Every level on mlxk-serve, then on both peers; the rows."""
    models, sizes = ctx.models(), ctx.sizes
    # every server gets the same prompts, fresh to each of them (they are separate processes)
    seeds = [[ctx.seed() for _ in range(n)] for n in sizes.levels]
    ours = _mlxk(ctx, models, seeds)
    plain = _peer(ctx, models, seeds, None, "mlx_lm-server.log")
    preload = ctx.preload
    blas = _peer(ctx, models, seeds, preload, "mlx_lm-server-blas.log") if preload else []
    rows = []
    for i, clients in enumerate(sizes.levels):
        tokens = f"{sizes.client_tokens} max_tokens each"
        who = f"{clients} client{'s' if clients > 1 else ''}"
        for peer, theirs in ((PLAIN, plain), (BLAS, blas)):
            if not theirs:
                continue
            target = TARGET if clients == TARGET_CLIENTS and peer == PLAIN else None
            rows.append(Row(
                f"server.{clients}.tps.{'blas' if peer == BLAS else 'plain'}",
                f"{who}: aggregate tok/s", "tok/s", ours[i].aggregate_tps, peer,
                theirs[i].aggregate_tps, "higher", target,
                note=f"{tokens}; tokens served: mlxk {ours[i].tokens}, peer {theirs[i].tokens}",
                headline=f"{clients} clients, aggregate tok/s vs {peer}"
                if clients == TARGET_CLIENTS else "",
            ))
            rows.append(Row(
                f"server.{clients}.ttft.{'blas' if peer == BLAS else 'plain'}",
                f"{who}: time to first token, p95", "s", ours[i].ttft_p95, peer,
                theirs[i].ttft_p95, "lower",
                note=f"median: mlxk {ours[i].ttft_median:.3f} s, peer "
                f"{theirs[i].ttft_median:.3f} s",
                headline=f"{clients} clients, p95 time to first token vs {PLAIN}"
                if clients == max(sizes.levels) and peer == PLAIN else "",
            ))
    return rows
