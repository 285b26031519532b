"""The library engine driven from threads, as a notebook would: no HTTP in between.

``bench_engine_library`` is the place for the row "library Engine, N concurrent threads":
aggregate tok/s and p95 time to first token of N threads submitting greedy requests to one
``mlxk_core`` engine, against N threads each running bare ``mlx_lm.stream_generate`` (or
mlx-lm's ``BatchGenerator``) on the same weights and BLAS. mlxk_core does not expose such an
engine yet (issue 17), so it measures nothing and this section has no rows; no figure is
made up in its place.
"""

from __future__ import annotations

from benchmarks.context import Context
from benchmarks.report import Row

TITLE = "Library engine: N concurrent threads in one process"


def bench_engine_library(ctx: Context) -> list[Row]:
    """Rows for "library Engine, N concurrent threads" at ``ctx.sizes.levels`` threads; none
    until ``mlxk_core`` has a public engine to submit requests to."""
    return []


def run(ctx: Context) -> list[Row]:
    """The library engine's rows (see ``bench_engine_library``)."""
    return bench_engine_library(ctx)
