"""The fallback chat transcript, used when a tokenizer has no chat template."""

from __future__ import annotations

from collections.abc import Sequence

from mlxk_core.generation.request import ChatMessage

__all__ = ["fallback_transcript"]

_SPEAKERS = {"user": "Human", "assistant": "Assistant", "tool": "Tool"}


def fallback_transcript(messages: Sequence[ChatMessage]) -> str:
    """Render messages as a plain ``Human:`` / ``Assistant:`` transcript ending in ``Assistant:``.

    The exact layout: the system messages' contents first (in order, joined by a blank line)
    followed by a blank line, if there are any; then one ``Human: <text>\\n``,
    ``Assistant: <text>\\n`` or ``Tool: <text>\\n`` line per other message, in order, contents
    unchanged (tool calls are not rendered);
    then ``Assistant:`` with no trailing space, so the model's reply usually begins with a space
    (BPE tokenizers attach the space to the next word). Generation must stop on
    ``FALLBACK_STOPS`` so the model does not write the next ``Human:`` turn itself.
    Example: ``"Be brief.\\n\\nHuman: Hi\\nAssistant: Hello\\nHuman: 2+2?\\nAssistant:"``.
    """
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    turns = "".join(
        f"{_SPEAKERS[m.role]}: {m.content}\n" for m in messages if m.role != "system"
    )
    header = f"{system}\n\n" if system else ""
    return f"{header}{turns}Assistant:"
