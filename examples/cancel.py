"""Cancel a running generation from another thread with a threading.Event.

Run:    python examples/cancel.py [MODEL] ["question"] [CHUNKS]
Shows:  Runner.stream(request, cancel=event) ending with finish_reason "cancelled". A reader
        thread (think: a UI, or a client connection) shows the chunks and cancels after CHUNKS
        (default 3), as a Stop button would. The model stays on the main thread (MLX wants one
        thread per model); a one-slot queue keeps generation at most two chunks ahead.
"""

from __future__ import annotations

import queue
import sys
import threading

from mlxk_core import Chunk, GenerationRequest, MlxkError, Runner

MODEL = "mlx-community/Llama-3.2-1B-Instruct-4bit"


def show(chunks: queue.Queue[Chunk | None], cancel: threading.Event, after: int) -> None:
    """The reader thread: print chunks as they come, set ``cancel`` after ``after`` of them."""
    seen = 0
    while (chunk := chunks.get()) is not None:
        print(chunk.text, end="", flush=True)
        seen += bool(chunk.text)
        if seen == after:
            cancel.set()


def main(model: str = MODEL, question: str = "Tell me a long story.", after: str = "3") -> None:
    request = GenerationRequest.chat([("user", question)], max_tokens=512)
    cancel, chunks = threading.Event(), queue.Queue[Chunk | None](maxsize=1)
    reader = threading.Thread(target=show, args=(chunks, cancel, int(after)))
    reader.start()
    try:
        with Runner(model) as runner:
            for chunk in runner.stream(request, cancel=cancel):
                chunks.put(chunk)
    finally:
        chunks.put(None)
        reader.join()
    usage = chunk.usage
    assert usage is not None  # the last chunk carries the usage
    print(f"\nfinish_reason: {chunk.finish_reason} after {usage.completion_tokens} tokens")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:4])
    except MlxkError as exc:
        sys.exit(f"error: {exc}")
