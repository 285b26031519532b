"""CPU fast path: mlxk against bare ``mlx_lm`` on both layouts of SmolLM2-135M-Instruct.

Each figure comes from one greedy request in a fresh process: a prompt of fresh text (nothing
cached) and a fixed number of generated tokens, timed the same way on both sides. mlxk runs
``Runner.stream`` with the BLAS and the float32 compute it chooses; the bare peer runs
``mlx_lm.load`` + ``stream_generate`` as installed (MLX's bundled reference BLAS, the weights as
stored). The fp16 layout is where bare MLX is slowest on a CPU: its side alone takes most of
this bench's time.
"""

from __future__ import annotations

from typing import Any

from benchmarks.context import Context, Models, worker
from benchmarks.report import Row
from benchmarks.timing import decode_rate, prefill_rate

TITLE = "CPU fast path: mlxk vs bare mlx_lm, one request each in a fresh process"
PEER = "bare mlx_lm (reference BLAS, as stored)"
# (label, repo attribute, snapshot attribute, decode target, prefill target, headline label)
LAYOUTS = (
    ("GGUF import (Q4_1)", "gguf_repo", "gguf_snapshot", 2.0, 10.0, "GGUF import"),
    ("mlx-community layout (4-bit, fp16)", "fp16_repo", "fp16_snapshot", 20.0, 10.0,
     "mlx-community fp16 layout"),
)


def _measure(ctx: Context, models: Models, repo: str, snapshot: str, side: str,
             seed: int) -> dict[str, Any]:
    return worker("single", {
        "side": side, "cache": str(models.cache), "repo": repo, "snapshot": snapshot,
        "tokenizer_json": str(models.tokenizer_json), "prompt_tokens": ctx.sizes.prompt_tokens,
        "decode_tokens": ctx.sizes.decode_tokens, "seed": seed,
    }, models.env())


def _note(ours: dict[str, Any], bare: dict[str, Any], what: str) -> str:
    return (f"{what}: mlxk {ours['prompt_tokens']} prompt tokens ({ours['cached_tokens']} "
            f"cached), {ours['generated']} generated; bare {bare['prompt_tokens']} prompt "
            f"tokens, {bare['generated']} generated")


def run(ctx: Context) -> list[Row]:
    """Measure both sides on both layouts."""
    models, sizes = ctx.models(), ctx.sizes
    rows = []
    for label, repo_attr, snap_attr, decode_target, prefill_target, headline in LAYOUTS:
        seed = ctx.seed()  # one fresh text per layout, the same for both sides
        repo, snapshot = getattr(models, repo_attr), str(getattr(models, snap_attr))
        ours = _measure(ctx, models, repo, snapshot, "ours", seed)
        bare = _measure(ctx, models, repo, snapshot, "bare", seed)
        rows += [
            Row(f"cpu.{repo_attr}.decode", f"{label}: decode tok/s over {sizes.decode_tokens} "
                "tokens", "tok/s", decode_rate(ours["generated"], ours["span_s"]), PEER,
                decode_rate(bare["generated"], bare["span_s"]), "higher", decode_target,
                note=_note(ours, bare, "tokens"), headline=f"{headline}: decode vs bare mlx_lm"),
            Row(f"cpu.{repo_attr}.prefill", f"{label}: prefill tok/s, {sizes.prompt_tokens}-"
                "token fresh prompt", "tok/s",
                prefill_rate(ours["prompt_tokens"], ours["first_s"]), PEER,
                prefill_rate(bare["prompt_tokens"], bare["first_s"]), "higher", prefill_target,
                headline=f"{headline}: prefill vs bare mlx_lm"),
        ]
    return rows
