"""Subprocess side of the single-process benches; prints one JSON line.

    python -m benchmarks.worker single '{"side": "ours"|"bare", "cache": ..., "repo": ...,
        "snapshot": ..., "tokenizer_json": ..., "prompt_tokens": N, "decode_tokens": N,
        "seed": N}'
    python -m benchmarks.worker runner '{...}'   (see benchmarks.runner_worker)
    python -m benchmarks.worker engine|schema '{...}'   (see benchmarks.engine_worker)

Every measurement runs in a fresh process, so the bare peer runs MLX as installed (its bundled
reference BLAS) and mlxk runs with the BLAS it finds, as users meet them, and nothing one
measurement cached can help the next.
"""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.text import fresh_text
from benchmarks.timing import timed

WARM_UP = "Warm up the kernels."  # shares no prefix with the measured prompts


def _ours(args: dict[str, Any], text: str) -> dict[str, Any]:
    """Runner.stream on a raw completion: the path `mlxk run` takes."""
    from mlxk_core.generation.request import GenerationRequest
    from mlxk_core.generation.runner import Runner
    from mlxk_core.settings import Settings

    with Runner(args["repo"], settings=Settings(cache_dir=Path(args["cache"]))) as runner:
        runner.generate(GenerationRequest.completion(WARM_UP, max_tokens=2, temperature=0.0))
        request = GenerationRequest.completion(text, max_tokens=args["decode_tokens"],
                                               temperature=0.0)
        run = timed(partial(runner.stream, request))
        usage = run.last.usage
        assert usage is not None, "the last chunk carries the usage"
        return {"prompt_tokens": usage.prompt_tokens - usage.cached_tokens,
                "cached_tokens": usage.cached_tokens, "generated": usage.completion_tokens,
                "first_s": run.first_s, "span_s": run.span_s}


def _bare(args: dict[str, Any], text: str) -> dict[str, Any]:
    """``mlx_lm.stream_generate`` on the same files, loaded as ``mlx_lm.load`` loads them."""
    import mlx_lm

    loaded: Any = mlx_lm.load(args["snapshot"])
    model, tokenizer = loaded
    list(mlx_lm.stream_generate(model, tokenizer, WARM_UP, max_tokens=1))
    run = timed(partial(mlx_lm.stream_generate, model, tokenizer, text,
                        max_tokens=args["decode_tokens"]))
    return {"prompt_tokens": run.last.prompt_tokens, "cached_tokens": 0,
            "generated": run.last.generation_tokens, "first_s": run.first_s,
            "span_s": run.span_s}


def single(args: dict[str, Any]) -> dict[str, Any]:
    """One request of ``prompt_tokens`` fresh tokens generating ``decode_tokens`` greedily."""
    text = fresh_text(Path(args["tokenizer_json"]), args["prompt_tokens"], args["seed"])
    return _ours(args, text) if args["side"] == "ours" else _bare(args, text)


def main(argv: list[str]) -> int:
    """Entry point of the worker subprocess."""
    command, args = argv[0], json.loads(argv[1])
    if command == "single":
        out = single(args)
    elif command == "runner":
        from benchmarks.runner_worker import runner_vs_bare

        out = runner_vs_bare(args)
    else:
        from benchmarks.engine_worker import engine_vs_batch, schema_vs_free

        out = engine_vs_batch(args) if command == "engine" else schema_vs_free(args)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
