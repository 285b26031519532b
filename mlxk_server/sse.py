"""Server-sent events: one ``data: {json}`` event per document, then ``data: [DONE]``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from mlxk_core import Chunk, MlxkError
from mlxk_server.errors import error_body, from_mlxk
from mlxk_server.openai_docs import Shape

__all__ = ["DONE", "encode", "event_stream", "named"]

DONE = b"data: [DONE]\n\n"


def encode(doc: dict[str, Any]) -> bytes:
    """One SSE event carrying a JSON document."""
    return b"data: " + json.dumps(doc, separators=(",", ":")).encode() + b"\n\n"


def named(event: str, doc: dict[str, Any]) -> bytes:
    """One SSE event with an ``event:`` name (Anthropic's and the Responses API's streams)."""
    return f"event: {event}\n".encode() + encode(doc)


async def event_stream(
    chunks: AsyncIterator[Chunk], shape: Shape, *, include_usage: bool
) -> AsyncIterator[bytes]:
    """The events of one streamed response: role first, then deltas, finish reason, [DONE]."""
    first = shape.first()
    if first is not None:
        yield encode(first)
    try:
        async for chunk in chunks:
            for doc in shape.deltas(chunk, include_usage):
                yield encode(doc)
    except MlxkError as exc:  # headers are sent: report the failure as an event
        yield encode(error_body(from_mlxk(exc)))
    yield DONE
