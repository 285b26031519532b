"""The library engine driven from threads, as a notebook would: no HTTP in between.

N threads each submit one greedy completion of fresh text to one ``mlxk_core.Engine`` (the
scheduler that also serves ``mlxk-serve`` and ``mlxk run``), against mlx-lm's own continuous
batcher (``batch_generate``) on N prompts of the same size, with the same files, weight layout
and BLAS, in the same process, in three alternating rounds of fresh prompts (each side's
best round counts). The ratio is the engine's cost (or gain) over raw batching: threads,
per-sequence decoding, chunked prefill and fair turns included.
"""

from __future__ import annotations

from benchmarks.context import Context, worker
from benchmarks.report import Row

TITLE = "Library engine: N concurrent threads in one process"
ROUNDS = 3  # alternating rounds per level; each side's best counts


def bench_engine_library(ctx: Context) -> list[Row]:
    """Aggregate tok/s of N threads on one Engine vs ``batch_generate``, at each level."""
    models, sizes = ctx.models(), ctx.sizes
    rows = []
    for threads in sizes.levels[1:]:
        out = worker("engine", {
            "cache": str(models.cache), "repo": models.gguf_repo,
            "snapshot": str(models.gguf_snapshot), "tokenizer_json": str(models.tokenizer_json),
            "threads": threads, "prompt_tokens": sizes.prompt_tokens,
            "decode_tokens": sizes.client_tokens, "seed": ctx.seed() * 100,
            "rounds": ROUNDS,
        }, models.env())
        rows.append(Row(
            f"engine.threads.{threads}", f"{threads} threads, aggregate tok/s "
            f"({sizes.prompt_tokens}-token prompts, up to {sizes.client_tokens} tokens each), "
            f"best of {ROUNDS}",
            "tok/s", out["ours_aggregate"], "mlx_lm batch_generate (same weights, layout, BLAS)",
            out["bare_aggregate"], "higher", 0.9 if threads == 8 else None,
            note=f"tokens generated: {out['ours_generated']} (mlxk), "
            f"{out['bare_generated']} (batch_generate); BLAS on both sides: {out['blas']}",
        ))
    return rows


def run(ctx: Context) -> list[Row]:
    """The library engine's rows (see ``bench_engine_library``)."""
    return bench_engine_library(ctx)
