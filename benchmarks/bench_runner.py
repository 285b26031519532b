"""Runner overhead and prompt-cache reuse, on one in-memory model of SmolLM2-135M's shape.

Decode speed: ``Runner.stream`` against a bare ``mlx_lm.stream_generate`` loop on the very same
loaded model (greedy, best of ``ROUNDS``). Chat: time to first token of turn 5 against turn 1,
for the Runner (prompt-cache reuse) and for a bare loop that prefills the whole history each turn.
The model is random (untrained) with the factory's 432-token vocabulary, built in a temp folder.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from mlxk_core.backends.blas import ensure_blas
from mlxk_core.cache.facts import read_facts
from mlxk_core.cache.records import Health, ResolvedModel
from mlxk_core.generation.request import ChatMessage, GenerationRequest
from mlxk_core.generation.runner import Runner
from mlxk_core.settings import Settings
from tests.factory.random_llama import SMOLLM2_135M, build_random_llama

TITLE = "runner: Runner.stream vs bare mlx_lm.stream_generate (SmolLM2-135M shape, greedy)"
ROUNDS = 5
DECODE_TOKENS = 256
TURN_TOKENS = 24
QUESTIONS = (
    "Tell me about the sea.", "And the mountains?", "Which is older?", "Why is that?",
    "Summarise all of it in one line.",
)
SYSTEM = "You are a helpful assistant who answers every question about geography. " * 2


def _runner_decode(runner: Runner, request: GenerationRequest) -> float:
    first = end = 0.0
    tokens = 0
    for chunk in runner.stream(request):
        end = time.perf_counter()
        first = first or end
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
    return (tokens - 1) / (end - first)


def _bare_decode(model: Any, tokenizer: Any, prompt: list[int], max_tokens: int) -> float:
    from mlx_lm import stream_generate

    first = end = 0.0
    tokens = 0
    for response in stream_generate(model, tokenizer, prompt, max_tokens=max_tokens):
        end = time.perf_counter()
        first = first or end
        tokens = response.generation_tokens
    return (tokens - 1) / (end - first)


def _bare_ttft(model: Any, tokenizer: Any, prompt: list[int]) -> tuple[float, str]:
    from mlx_lm import stream_generate

    start = time.perf_counter()
    ttft, text = 0.0, []
    for response in stream_generate(model, tokenizer, prompt, max_tokens=TURN_TOKENS):
        ttft = ttft or time.perf_counter() - start
        text.append(response.text)
    return ttft, "".join(text)


def _chat_ttfts(runner: Runner, bare: bool) -> list[float]:
    backend: Any = runner.backend
    turns = [ChatMessage("system", SYSTEM)]
    ttfts = []
    for question in QUESTIONS:
        turns.append(ChatMessage("user", question))
        request = GenerationRequest.chat(turns, max_tokens=TURN_TOKENS)
        if bare:
            prompt = list(runner.encode(request).tokens)
            ttft, answer = _bare_ttft(backend.model, backend.tokenizer, prompt)
        else:
            completion = runner.generate(request)
            ttft, answer = completion.timings.time_to_first_token or 0.0, completion.text
        ttfts.append(ttft)
        turns.append(ChatMessage("assistant", answer))
    return ttfts


def _ratio_row(metric: str, ours: float, peer: float, target: str) -> dict[str, object]:
    return {"metric": metric, "mlxk": ours, "peer": peer, "ratio": ours / peer, "target": target}


def run() -> list[dict[str, object]]:
    """Build the model, measure both sides alternately, return the table rows."""
    ensure_blas(Settings.from_env().blas)  # before building the model imports mlx
    with tempfile.TemporaryDirectory(prefix="mlxk-bench-") as tmp:
        path = build_random_llama(Path(tmp) / "smol", {**SMOLLM2_135M, "vocab_size": 432})
        model = ResolvedModel("random/SmolLM2-135M-shape", path, read_facts(path), Health(True))
        with Runner(model) as runner:
            backend: Any = runner.backend
            request = GenerationRequest.chat(
                [("user", "Write a long story about the sea.")], max_tokens=DECODE_TOKENS
            )
            prompt = list(runner.encode(request).tokens)
            _runner_decode(runner, request)  # warm-up: kernels, caches
            ours, peer = [], []
            for _ in range(ROUNDS):
                peer.append(_bare_decode(backend.model, backend.tokenizer, prompt, DECODE_TOKENS))
                ours.append(_runner_decode(runner, request))
            bare_chat = _chat_ttfts(runner, bare=True)
            runner_chat = _chat_ttfts(runner, bare=False)
    return [
        _ratio_row(f"decode tok/s (best of {ROUNDS})", max(ours), max(peer), ">= 0.97"),
        {
            "metric": "ttft turn 5 / turn 1",
            "mlxk": runner_chat[-1] / runner_chat[0],
            "peer": bare_chat[-1] / bare_chat[0],
            "ratio": (runner_chat[-1] / runner_chat[0]) / (bare_chat[-1] / bare_chat[0]),
            "target": "mlxk <= 1.2",
        },
        _ratio_row("ttft turn 5 (s)", runner_chat[-1], bare_chat[-1], "lower"),
    ]
