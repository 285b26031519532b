"""Chat with a running `mlxk-serve` through the official openai client, streaming the answer.

Start:  mlxk-serve --model MODEL        (or `mlxk serve`; it listens on 127.0.0.1:8000)
Run:    python examples/openai_client.py [MODEL] ["question"] [BASE_URL]
        BASE_URL defaults to $OPENAI_BASE_URL, else http://127.0.0.1:8000/v1; the key is
        $OPENAI_API_KEY (the server's --api-key / MLXK_API_KEY), if the server asks for one.
Shows:  client.models.list() and chat.completions.create(stream=True) with usage at the end.
"""

from __future__ import annotations

import os
import sys

from openai import APIError, OpenAI

MODEL = "mlx-community/Llama-3.2-1B-Instruct-4bit"


def main(model: str = MODEL, question: str = "Why is the sky blue?", base_url: str = "") -> None:
    client = OpenAI(
        base_url=base_url or os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
        api_key=os.environ.get("OPENAI_API_KEY", "not-needed"),
    )
    print("models:", ", ".join(m.id for m in client.models.list()))
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}], max_tokens=512,
        stream=True, stream_options={"include_usage": True},
    )
    for event in stream:
        if event.choices and event.choices[0].delta.content:
            print(event.choices[0].delta.content, end="", flush=True)
        if event.usage:
            print(f"\nusage: {event.usage.prompt_tokens} prompt, "
                  f"{event.usage.completion_tokens} completion tokens")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:4])
    except APIError as exc:  # also raised when no server answers at the base URL
        sys.exit(f"error: {exc}")
