"""A two-turn chat on one loaded model: the second turn reuses the first turn's prompt cache.

Run:    python examples/multi_turn.py [MODEL] ["first message"] ["second message"]
Shows:  keeping the history as ChatMessages, one Runner for several requests, and per turn the
        time to first token and how many prompt tokens came from the cache (Usage.cached_tokens).
"""

from __future__ import annotations

import sys

from mlxk_core import ChatMessage, GenerationRequest, MlxkError, Runner

MODEL = "mlx-community/Llama-3.2-1B-Instruct-4bit"
TURNS = ("My name is Ada.", "What is my name?")


def main(model: str = MODEL, *turns: str) -> None:
    history: list[ChatMessage] = []
    with Runner(model) as runner:
        for number, message in enumerate(turns or TURNS, start=1):
            history.append(ChatMessage("user", message))
            reply = runner.generate(GenerationRequest.chat(history, max_tokens=256))
            history.append(ChatMessage("assistant", reply.text))
            usage, ttft = reply.usage, reply.timings.time_to_first_token or 0.0
            print(f"[{number}] user: {message}")
            print(f"[{number}] assistant: {reply.text}")
            print(f"[{number}] first token after {ttft:.3f}s; {usage.cached_tokens} of "
                  f"{usage.prompt_tokens} prompt tokens from the cache")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except MlxkError as exc:
        sys.exit(f"error: {exc}")
