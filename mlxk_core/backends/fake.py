"""A scripted backend for tests and examples: no mlx, no weights, deterministic output.

``FakeBackend(["Hel", "lo", "!"])`` answers every request with those token texts, then its EOS
token. Prompts are "tokenized" one id per character; the chat format is a plain, visible
``<|role|>content`` transcript (or the fallback transcript with ``chat_template=False``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlxk_core.backends.base import ModelInfo, PromptTokens, TokenStream
from mlxk_core.errors import GenerationError
from mlxk_core.generation.chat_format import fallback_transcript
from mlxk_core.generation.prompt_cache import reusable_prefix
from mlxk_core.generation.request import GenerationParams, GenerationRequest

__all__ = ["FAKE_EOS", "FakeBackend", "FakeDetokenizer"]

FAKE_EOS = 0
_TEXT_BASE = 1_000_000  # ids of scripted token texts start here, above every character id

Script = Sequence[str] | Callable[[PromptTokens, GenerationParams], Sequence[str]]


class FakeDetokenizer:
    """Maps ids back to text: characters below ``_TEXT_BASE``, scripted pieces above."""

    def __init__(self, pieces: list[str]) -> None:
        self._pieces = pieces
        self._segment = ""

    def add_token(self, token: int) -> None:
        """Append one token id."""
        piece = self._pieces[token - _TEXT_BASE] if token >= _TEXT_BASE else chr(token)
        self._segment += piece

    def finalize(self) -> None:
        """Nothing is ever held back."""

    @property
    def last_segment(self) -> str:
        """Text added since the previous read."""
        segment, self._segment = self._segment, ""
        return segment


@dataclass
class FakeBackend:
    """A test double that yields the scripted token texts for every request.

    ``script`` is a list of token texts or a function of (prompt, params) returning one.
    ``fail_at`` raises a RuntimeError when that many tokens have been yielded (a failing forward).
    ``eos`` appends the EOS token after the script; without it generation runs into the budget
    (the script repeats). ``prompts`` records every formatted prompt text, in order.
    """

    script: Script = ("Hello", ",", " world", "!")
    context_length: int | None = 4096
    chat_template: bool = True
    eos: bool = True
    fail_at: int | None = None
    fail_on_load: bool = False
    name: str = "fake-model"
    prompts: list[str] = field(default_factory=list)
    generated: int = 0
    _loaded: bool = False
    _pieces: list[str] = field(default_factory=list)
    _history: tuple[int, ...] = ()

    @property
    def loaded(self) -> bool:
        """Whether ``load`` has run and ``close`` has not."""
        return self._loaded

    def load(self, path: Path, *, name: str) -> ModelInfo:
        """Pretend to load; raise a RuntimeError with ``fail_on_load``."""
        if self.fail_on_load:
            raise RuntimeError(f"cannot load {path}")
        self._loaded = True
        template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
        return ModelInfo(
            name=name or self.name,
            eos_token_ids=frozenset({FAKE_EOS}),
            context_length=self.context_length,
            chat_template=template if self.chat_template else None,
        )

    def close(self) -> None:
        """Forget everything; idempotent."""
        self._loaded = False
        self._history = ()

    def encode(self, request: GenerationRequest) -> PromptTokens:
        """Format the request and tokenize it one id per character."""
        fallback = False
        if request.messages is None:
            text = request.prompt or ""
        elif self.chat_template:
            text = "".join(f"<|{m.role}|>{m.content}" for m in request.messages) + "<|assistant|>"
        else:
            text, fallback = fallback_transcript(request.messages), True
        return PromptTokens(text=text, tokens=tuple(ord(c) for c in text), fallback_format=fallback)

    def detokenizer(self, *, raw: bool = False) -> FakeDetokenizer:
        """A fresh detokenizer sharing this backend's table of scripted pieces."""
        return FakeDetokenizer(self._pieces)

    def generate(
        self, prompt: Sequence[int], params: GenerationParams, max_tokens: int
    ) -> TokenStream:
        """Yield the script's token ids (then EOS), at most ``max_tokens`` of them."""
        if not self._loaded:
            raise GenerationError("FakeBackend: no model loaded")
        text = "".join(chr(t) for t in prompt)
        self.prompts.append(text)
        script = self.script
        pieces = list(script(PromptTokens(text, tuple(prompt)), params) if callable(script)
                      else script)
        cached = reusable_prefix(self._history, prompt)
        return TokenStream(self._tokens(tuple(prompt), pieces, max_tokens), cached_tokens=cached)

    def _tokens(self, prompt: tuple[int, ...], pieces: list[str], limit: int) -> Iterator[int]:
        ids = []
        for piece in pieces:
            self._pieces.append(piece)
            ids.append(_TEXT_BASE + len(self._pieces) - 1)
        if self.eos or not ids:
            ids.append(FAKE_EOS)
        out: list[int] = []
        for n in range(limit):
            if self.fail_at is not None and n == self.fail_at:
                self._history = ()
                raise RuntimeError("fake forward failed")
            token = ids[n % len(ids)]
            out.append(token)
            self._history = prompt + tuple(out)
            self.generated += 1
            yield token

    def peak_memory(self) -> int:
        """Always zero: nothing is allocated."""
        return 0

    def reset_peak_memory(self) -> None:
        """Nothing to reset."""

