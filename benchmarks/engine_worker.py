"""Subprocess side of bench_engine and bench_agent: the core Engine driven from threads.

    python -m benchmarks.worker engine '{"cache", "repo", "snapshot", "tokenizer_json",
        "threads": N, "prompt_tokens", "decode_tokens", "seed", "rounds"}'
    python -m benchmarks.worker schema '{... "threads": N ...}'

``engine``: N threads each submit one greedy completion (fresh text) to one ``Engine``, against
mlx-lm's ``batch_generate`` on N other fresh prompts of the same size, with the same files,
weight layout and BLAS (its model loaded with ``mlx_lm.load``, on this thread), round for round.
``schema``: the same N requests with a JSON schema and without one, through the Engine.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.text import fresh_text
from benchmarks.timing import decode_rate

# a schema that keeps the model writing: one long string field
STORY = {"type": "object", "properties": {"story": {"type": "string", "minLength": 2000,
                                                    "maxLength": 4000}},
         "required": ["story"], "additionalProperties": False}


def _prompts(args: dict[str, Any], salt: int) -> list[str]:
    path = Path(args["tokenizer_json"])
    return [fresh_text(path, args["prompt_tokens"], args["seed"] + salt + i)
            for i in range(args["threads"])]


def _drive(engine: Any, model: Any, requests: list[Any]) -> dict[str, Any]:
    """Submit every request from its own thread at once; aggregate tok/s and per-stream rates."""
    arrivals: dict[int, list[float]] = {}
    tokens: dict[int, int] = {}

    def one(i: int) -> None:
        stamps = arrivals.setdefault(i, [])
        last = None
        for chunk in engine.submit(model, requests[i]).chunks():
            stamps.append(time.perf_counter())
            last = chunk
        assert last is not None and last.usage is not None
        tokens[i] = last.usage.completion_tokens

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(requests))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    rates = [decode_rate(tokens[i], arrivals[i][-1] - arrivals[i][0])
             for i in range(len(requests)) if tokens[i] > 1]
    return {"aggregate": sum(tokens.values()) / wall, "decode": min(rates),
            "generated": sum(tokens.values())}


def _engine(args: dict[str, Any]) -> tuple[Any, Any]:
    from mlxk_core import Engine, Settings

    engine = Engine(settings=Settings(cache_dir=Path(args["cache"])), max_batch=32).start()
    held = engine.load(args["repo"])
    return engine, held


def engine_vs_batch(args: dict[str, Any]) -> dict[str, Any]:
    """The Engine from N threads against ``mlx_lm.batch_generate`` on the same weights,
    in alternating rounds of fresh prompts; the best round of each side."""
    from mlxk_core import GenerationRequest, Settings, ensure_blas

    blas = ensure_blas(Settings.from_env().blas)  # before mlx_lm imports mlx, for both sides
    from mlx_lm import batch_generate

    from benchmarks.runner_worker import _bare_model

    engine, held = _engine(args)
    model, tokenizer = _bare_model(Path(args["snapshot"]), blas)
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    try:
        _drive(engine, held.model, [GenerationRequest.completion("Warm up.", max_tokens=2)]
               * args["threads"])
        batch_generate(model, tokenizer, [tokenizer.encode("Warm up.")] * args["threads"],
                       max_tokens=2)
        for round_ in range(args["rounds"]):
            ours.append(_drive(engine, held.model, [
                GenerationRequest.completion(t, max_tokens=args["decode_tokens"])
                for t in _prompts(args, 2000 * round_)]))
            prompts = [tokenizer.encode(t) for t in _prompts(args, 2000 * round_ + 1000)]
            start = time.perf_counter()
            out = batch_generate(model, tokenizer, prompts, max_tokens=args["decode_tokens"])
            wall = time.perf_counter() - start
            bare.append({"aggregate": out.stats.generation_tokens / wall,
                         "generated": out.stats.generation_tokens})
    finally:
        engine.stop()
    best_ours = max(ours, key=lambda r: r["aggregate"])
    best_bare = max(bare, key=lambda r: r["aggregate"])
    return {"ours_aggregate": best_ours["aggregate"], "bare_aggregate": best_bare["aggregate"],
            "ours_generated": best_ours["generated"], "bare_generated": best_bare["generated"],
            "blas": blas.kind}


def schema_vs_free(args: dict[str, Any]) -> dict[str, Any]:
    """The same N requests through the Engine, constrained to a JSON schema and free."""
    from mlxk_core import GenerationRequest, ResponseFormat

    engine, held = _engine(args)
    fmt = ResponseFormat("json_schema", STORY, "story")
    try:
        warm = GenerationRequest.chat([("user", "Warm up.")], max_tokens=4, response_format=fmt)
        engine.submit(held.model, warm).completion()
        found: dict[str, Any] = {}
        for side, salt, response_format in (("free", 0, None), ("schema", 1000, fmt)):
            found[side] = _drive(engine, held.model, [
                GenerationRequest.chat([("user", "Write a long story about: " + text)],
                                       max_tokens=args["decode_tokens"],
                                       response_format=response_format)
                for text in _prompts(args, salt)])
    finally:
        engine.stop()
    return found
