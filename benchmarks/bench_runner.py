"""Runner overhead: ``Runner.stream`` against a bare ``mlx_lm.stream_generate`` loop.

Both in one fresh process with the BLAS mlxk loads and the same weight layout, on the GGUF
import; greedy, fresh prompt text each round, best of the alternating rounds. Then a chat whose
turns reuse the Runner's prompt cache, against bare ``stream_generate`` prefilling the whole
history each turn (the very same prompts).
"""

from __future__ import annotations

from benchmarks.context import Context, worker
from benchmarks.report import Row

TITLE = "Runner.stream vs bare mlx_lm.stream_generate (same process, same weights)"


def run(ctx: Context) -> list[Row]:
    """Measure in a worker process and return the rows."""
    models, sizes = ctx.models(), ctx.sizes
    out = worker("runner", {
        "cache": str(models.cache), "repo": models.gguf_repo,
        "snapshot": str(models.gguf_snapshot), "tokenizer_json": str(models.tokenizer_json),
        "decode_tokens": sizes.decode_tokens, "rounds": sizes.runner_rounds,
        "chat_turns": sizes.chat_turns, "seed": ctx.seed() * 100,
    }, models.env())
    turns = sizes.chat_turns
    generated = "/".join(str(n) for n in out["generated"])
    peer = f"bare stream_generate ({out['blas']} BLAS, same layout)"
    return [
        Row("runner.decode", f"decode tok/s over {sizes.decode_tokens} tokens, best of "
            f"{sizes.runner_rounds}", "tok/s", max(out["ours_decode"]), peer,
            max(out["bare_decode"]), "higher", 0.97,
            note=f"tokens generated per side and round: {generated}",
            headline="`Runner.stream` decode vs bare `mlx_lm.stream_generate`"),
        Row("runner.chat_ttft", f"chat turn {turns}: time to first token "
            f"({out['prompt_tokens']}-token prompt)", "s", out["ours_ttft"][-1],
            "bare stream_generate, whole history prefilled", out["bare_ttft"][-1], "lower",
            note="mlxk reuses its prompt cache; turn 1: "
            f"{out['ours_ttft'][0]:.3f} s (mlxk), {out['bare_ttft'][0]:.3f} s (bare)"),
    ]
