"""Serve several questions at once from threads with the core Engine (what mlxk-serve runs on).

Run:    python examples/engine_threads.py [MODEL] ["question" ...]
Shows:  Engine.submit from one thread per question; the engine decodes them together in one
        continuous batch and each thread reads its own chunks. Answers print in question order
        with the tokens each used.
"""

from __future__ import annotations

import sys
import threading

from mlxk_core import Completion, Engine, GenerationRequest, MlxkError, Settings

MODEL = "mlx-community/Llama-3.2-1B-Instruct-4bit"


def main(model: str = MODEL, *questions: str) -> None:
    questions = questions or ("What is the capital of France?", "Say hello.")
    answers: dict[int, Completion] = {}
    with Engine(settings=Settings.from_env()) as engine:
        engine.load(model)  # load once, before the questions arrive

        def ask(i: int) -> None:
            request = GenerationRequest.chat([("user", questions[i])], max_tokens=64)
            answers[i] = engine.submit(model, request).completion()

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for i, question in enumerate(questions):
        answer = answers[i]
        print(f"{question} -> {answer.text} ({answer.usage.completion_tokens} tokens)")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except MlxkError as exc:
        sys.exit(f"error: {exc}")
