"""Subprocess side of bench_runner: ``Runner.stream`` against bare ``mlx_lm.stream_generate``.

Both sides run in this one process, with the BLAS mlxk loads and the same in-memory weight
layout (the bare model is loaded with ``mlx_lm.load`` and given the layout mlxk chooses, through
``mlxk_core.backends.cpu_fastpath``), so the difference is mlxk's generation path alone.
Rounds alternate the sides; every round gets fresh prompt text.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.text import fresh_text
from benchmarks.timing import decode_rate, timed

PROMPT_TOKENS = 64
QUESTIONS = (
    "Tell me about the sea.", "And the mountains?", "Which is older?", "Why is that?",
    "Summarise all of it in one line.",
)
SYSTEM = "You are a helpful assistant who answers every question about geography."
TURN_TOKENS = 24


def _bare_model(snapshot: Path, blas: Any) -> tuple[Any, Any]:
    import mlx_lm

    from mlxk_core.backends.cpu_fastpath import (
        apply_layout,
        choose_layout,
        current_device,
        describe_model,
        memory_info,
    )

    loaded: Any = mlx_lm.load(str(snapshot))
    model, tokenizer = loaded
    files, dense_bytes = describe_model(model)
    layout = choose_layout(device=current_device(), blas=blas, file_layout=files,
                           dense_bytes=dense_bytes, available_bytes=memory_info().available)
    apply_layout(model, layout)
    return model, tokenizer


def _kept(runner: Any, request: Any, into: list[Any]) -> Iterator[Any]:
    for chunk in runner.stream(request):
        into.append(chunk)
        yield chunk


def _chat_first_tokens(runner: Any, model: Any, tokenizer: Any, turns: int) -> dict[str, Any]:
    """Time to first token of each chat turn: the Runner (reusing its prompt cache) and bare
    ``stream_generate`` prefilling the whole history, on the very same prompts."""
    from mlx_lm import stream_generate

    from mlxk_core.generation.request import ChatMessage, GenerationRequest

    history = [ChatMessage("system", SYSTEM)]
    ours, bare = [], []
    for question in QUESTIONS[:turns]:
        history.append(ChatMessage("user", question))
        request = GenerationRequest.chat(history, max_tokens=TURN_TOKENS, temperature=0.0)
        prompt = list(runner.encode(request).tokens)
        bare.append(timed(partial(stream_generate, model, tokenizer, prompt, max_tokens=1))
                    .first_s)
        chunks: list[Any] = []
        ours.append(timed(partial(_kept, runner, request, chunks)).first_s)
        history.append(ChatMessage("assistant", "".join(c.text for c in chunks)))
    return {"ours_ttft": ours, "bare_ttft": bare, "prompt_tokens": len(prompt)}


def runner_vs_bare(args: dict[str, Any]) -> dict[str, Any]:
    """Best decode tok/s of each side over ``rounds`` alternating rounds, then the chat."""
    from mlxk_core.backends.blas import ensure_blas
    from mlxk_core.settings import Settings

    blas = ensure_blas(Settings.from_env().blas)  # before anything imports mlx
    from mlx_lm import stream_generate

    from mlxk_core.generation.request import GenerationRequest
    from mlxk_core.generation.runner import Runner

    settings = Settings(cache_dir=Path(args["cache"]))
    tokenizer_json, tokens = Path(args["tokenizer_json"]), args["decode_tokens"]
    ours: list[float] = []
    bare: list[float] = []
    generated: set[int] = set()
    with Runner(args["repo"], settings=settings) as runner:
        model, tokenizer = _bare_model(Path(args["snapshot"]), blas)
        warm = GenerationRequest.completion("Warm up the kernels.", max_tokens=4)
        runner.generate(warm)
        list(stream_generate(model, tokenizer, list(runner.encode(warm).tokens), max_tokens=4))
        for round_ in range(args["rounds"]):
            text = fresh_text(tokenizer_json, PROMPT_TOKENS, args["seed"] + round_)
            request = GenerationRequest.completion(text, max_tokens=tokens, temperature=0.0)
            prompt = list(runner.encode(request).tokens)
            peer = timed(partial(stream_generate, model, tokenizer, prompt, max_tokens=tokens))
            run = timed(partial(runner.stream, request))
            usage = run.last.usage
            assert usage is not None, "the last chunk carries the usage"
            generated |= {peer.last.generation_tokens, usage.completion_tokens}
            bare.append(decode_rate(peer.last.generation_tokens, peer.span_s))
            ours.append(decode_rate(usage.completion_tokens, run.span_s))
        chat = _chat_first_tokens(runner, model, tokenizer, args["chat_turns"])
    return {"ours_decode": ours, "bare_decode": bare, "generated": sorted(generated),
            "blas": blas.kind, **chat}
