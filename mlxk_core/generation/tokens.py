"""Token budget: how many tokens a generation may produce."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mlxk_core.errors import ContextOverflow, InvalidRequest

__all__ = ["DEFAULT_MAX_TOKENS", "PolicyMode", "TokenPolicy"]

DEFAULT_MAX_TOKENS: int = 2048
"""max_tokens when nothing is requested and the model's context length is unknown.

Without a context length no clamp is possible, so this keeps an unbounded model from running
on forever; 2048 fits a long answer and is below the context of every current chat model.
"""

PolicyMode = Literal["run", "server"]


@dataclass(frozen=True)
class TokenPolicy:
    """Decides max_tokens: the request's value, else the full (run) or half (server) context.

    In every mode the result is clamped to the context left after the prompt; a prompt that
    already fills the context raises :class:`ContextOverflow`. A context length of ``None``
    (or not positive) means unknown: then the request or ``unknown_context_default`` is used
    unclamped. Server mode defaults to half the context so one request cannot hold a slot for
    the whole window.
    """

    mode: PolicyMode = "run"
    unknown_context_default: int = DEFAULT_MAX_TOKENS

    def __post_init__(self) -> None:
        if self.mode not in ("run", "server"):
            raise InvalidRequest(f"Unknown token policy mode '{self.mode}'", param="mode")
        if self.unknown_context_default < 1:
            raise InvalidRequest(
                "unknown_context_default must be a positive integer", param="max_tokens"
            )

    def max_tokens(
        self, *, prompt_tokens: int, context_length: int | None, requested: int | None = None
    ) -> int:
        """The number of tokens this generation may produce (always at least 1)."""
        if prompt_tokens < 0:
            raise InvalidRequest(f"prompt_tokens must be >= 0, got {prompt_tokens}")
        if requested is not None and requested < 1:
            raise InvalidRequest(
                f"max_tokens must be a positive integer, got {requested}", param="max_tokens"
            )
        if context_length is None or context_length < 1:
            return requested if requested is not None else self.unknown_context_default
        room = context_length - prompt_tokens
        if room < 1:
            raise ContextOverflow(prompt_tokens, context_length)
        if requested is not None:
            wanted = requested
        elif self.mode == "server":
            wanted = max(1, context_length // 2)
        else:
            wanted = context_length
        return min(wanted, room)
