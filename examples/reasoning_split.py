"""Stream a reasoning model's thinking and its final answer as two separate sections.

Run:    python examples/reasoning_split.py [MODEL] ["question"]
Shows:  Runner.is_reasoning, and Chunk.reasoning vs Chunk.text: the core splits gpt-oss harmony
        channels and <think> tags, so no markers reach your code.
"""

from __future__ import annotations

import sys

from mlxk_core import GenerationRequest, MlxkError, Runner

MODEL = "mlx-community/Qwen3-0.6B-4bit"


def main(model: str = MODEL, question: str = "Is 97 a prime number?") -> None:
    request = GenerationRequest.chat([("user", question)], max_tokens=1024)
    with Runner(model) as runner:
        if not runner.is_reasoning:
            print(f"({model} is not a reasoning model: everything is answer)")
        section = ""
        for chunk in runner.stream(request):
            for title, text in (("Reasoning", chunk.reasoning), ("Answer", chunk.text)):
                if text and title != section:
                    print(f"{chr(10) if section else ''}=== {title} ===")
                    section = title
                print(text, end="", flush=True)
    print()


if __name__ == "__main__":
    try:
        main(*sys.argv[1:3])
    except MlxkError as exc:
        sys.exit(f"error: {exc}")
