"""CPU fast path: mlxk against bare mlx_lm loading the same SmolLM2-135M-shaped 4-bit files.

Two layouts of one model (the real SmolLM2-135M-Instruct when the demo GGUF is in ``.demo/``,
else random weights of its shape): as the GGUF import stores it (uint32 4-bit weights, float16
scales/biases, float32 norms) and as mlx-community repos store 4-bit models (float16 scales
and norms). Every figure comes from a fresh subprocess (``benchmarks.cpu_worker``), so the bare
peer runs MLX as installed and mlxk with the BLAS it finds. Token counts are kept small so the
whole run takes a few minutes on 2 cores; the bare fp16 peer is so slow (~0.2 tok/s) that it
gets a 4-token prompt (mlxk gets the same), and its 16-sequence run is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.cpu_worker import GGUF_REPO, HALF_REPO, ROOT

TITLE = "CPU fast path: mlxk vs bare mlx_lm on SmolLM2-135M-shaped 4-bit models (ratio: speed-up)"
CONCURRENT = 16


def _worker(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.cpu_worker", *args], cwd=ROOT, capture_output=True,
        text=True, timeout=600, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"cpu_worker {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _row(model: str, measure: str, ours: float | None, bare: float | None, target: float | None,
         unit: str = "tok/s") -> dict[str, object]:
    # a speed-up either way: rates are ours / bare, waits (seconds) are bare / ours
    if ours is None or not bare or not ours:
        ratio = None
    else:
        ratio = bare / ours if unit == "s" else ours / bare
    met = "-" if target is None or ratio is None else ("yes" if ratio >= target else "NO")
    return {
        "model": model, "measure": f"{measure} ({unit})",
        "mlxk": "-" if ours is None else f"{ours:.2f}",
        "bare mlx_lm": "-" if bare is None else f"{bare:.2f}",
        "ratio": "-" if ratio is None else f"{ratio:.1f}x",
        "target": "-" if target is None else f">= {target:g}x", "met": met,
    }


def _compare(cache: Path, repo: str, label: str, prompt: int, tokens: int, batch: int,
             targets: tuple[float, float, float | None]) -> list[dict[str, object]]:
    ours = _worker("measure", str(cache), repo, "ours", str(prompt), str(tokens), str(batch))
    bare = _worker("measure", str(cache), repo, "bare", str(prompt), str(tokens), str(batch))
    decode, prefill, together = targets
    rows = [
        _row(label, f"decode, {tokens} tokens", ours["decode_tps"], bare["decode_tps"], decode),
        _row(label, f"prefill, {prompt}-token prompt", ours["prefill_tps"], bare["prefill_tps"],
             prefill),
    ]
    if batch:
        rows.append(_row(label, f"{batch} concurrent, decode aggregate", ours["batch_tps"],
                         bare["batch_tps"], together))
        rows.append(_row(label, f"{batch} concurrent, all first tokens", ours["batch_first_s"],
                         bare["batch_first_s"], None, unit="s"))
    else:
        rows.append(_row(label, f"{CONCURRENT} concurrent (bare too slow to run)", None, None,
                         None))
    rows.append({"model": label, "measure": "mlxk layout", "mlxk": ours["layout"],
                 "bare mlx_lm": "as stored", "ratio": "", "target": "", "met": ""})
    return rows


def run() -> list[dict[str, object]]:
    """Build both layouts in a temporary cache and compare mlxk with bare mlx_lm on each."""
    with tempfile.TemporaryDirectory(prefix="mlxk-bench-cpu-") as tmp:
        cache = Path(tmp)
        built = _worker("build", str(cache))
        kind = "real" if "imported" in built["source"] else "random"
        rows = _compare(cache, GGUF_REPO, f"Q4_1 as imported ({kind})", 128, 32, CONCURRENT,
                        (2.0, 10.0, 10.0))
        rows += _compare(cache, HALF_REPO, f"4-bit fp16, mlx-community way ({kind})", 4, 3, 0,
                         (20.0, 10.0, None))
    return rows


if __name__ == "__main__":
    from benchmarks.__main__ import format_table

    print(TITLE)
    print(format_table(run()))
