"""Stream a chat answer from a cached model, then print token usage and timings.

Run:    python examples/chat_stream.py [MODEL] ["question"]
Shows:  Runner as a context manager, GenerationRequest.chat, Runner.stream, and the usage and
        timings carried by the last Chunk. Nothing is downloaded: `mlxk pull MODEL` first.
"""

from __future__ import annotations

import sys

from mlxk_core import GenerationRequest, MlxkError, Runner

MODEL = "mlx-community/Llama-3.2-1B-Instruct-4bit"


def main(model: str = MODEL, question: str = "Why is the sky blue?") -> None:
    request = GenerationRequest.chat([("user", question)], max_tokens=512)
    with Runner(model) as runner:
        for chunk in runner.stream(request):
            print(chunk.text, end="", flush=True)
    print()
    usage, timings = chunk.usage, chunk.timings  # only the last chunk carries them
    assert usage is not None and timings is not None
    print(f"finish: {chunk.finish_reason}; tokens: {usage.prompt_tokens} prompt, "
          f"{usage.completion_tokens} completion")
    print(f"first token after {timings.time_to_first_token or 0:.3f}s; "
          f"{timings.generation_tps:.1f} tokens/s; peak memory {timings.peak_memory / 1e6:.1f} MB")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:3])
    except MlxkError as exc:
        sys.exit(f"error: {exc}")
