"""A scripted backend for tests and examples: no mlx, no weights, deterministic output.

``FakeBackend(["Hel", "lo", "!"])`` answers every request with those token texts, then its EOS
token. Prompts are "tokenized" one id per character; the chat format is a plain, visible
``<|role|>content`` transcript (or the fallback transcript with ``chat_template=False``).
Its batch behaves like the MLX one as the engine sees it: prompts are fed ``prefill_chunk``
tokens per step, every decoding sequence gets one token per step, and ``step_delay`` /
``prefill_delay`` make steps take time like a real model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlxk_core.backends.base import ModelInfo, PromptTokens, SequenceSpec, StepOutput, TokenScore
from mlxk_core.errors import GenerationError, InvalidRequest
from mlxk_core.generation.chat_format import fallback_transcript
from mlxk_core.generation.constrained import TokenMatcher
from mlxk_core.generation.prompt_cache import reusable_prefix
from mlxk_core.generation.request import GenerationParams, GenerationRequest

__all__ = ["FAKE_EOS", "FakeBackend", "FakeBatch", "FakeDetokenizer"]

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
    ``fail_at`` raises a RuntimeError when a sequence has produced that many tokens (a failing
    forward). ``eos`` appends the EOS token after the script; without it generation runs into
    the budget (the script repeats). ``prompts`` records every formatted prompt text, in order.
    ``step_delay`` is slept once per decoding step, ``prefill_delay`` per prompt token fed.
    """

    script: Script = ("Hello", ",", " world", "!")
    context_length: int | None = 4096
    chat_template: bool = True
    eos: bool = True
    fail_at: int | None = None
    fail_on_load: bool = False
    name: str = "fake-model"
    step_delay: float = 0.0
    prefill_delay: float = 0.0
    prompts: list[str] = field(default_factory=list)
    generated: int = 0
    steps: int = 0
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

    def token_matcher(self, grammar: str) -> TokenMatcher:
        """Scripted output cannot follow a constraint: refused."""
        raise InvalidRequest(
            "The FakeBackend cannot constrain its output", param="response_format",
            hint="use a real model for structured output and forced tool calls",
        )

    def token_bytes(self, token: int) -> bytes:
        """A character's or a scripted piece's UTF-8 bytes."""
        piece = self._pieces[token - _TEXT_BASE] if token >= _TEXT_BASE else chr(token)
        return piece.encode()

    def open_batch(self, *, max_batch: int, prefill_chunk: int) -> FakeBatch:
        """A batch over this backend's script."""
        if not self._loaded:
            raise GenerationError("FakeBackend: no model loaded")
        return FakeBatch(self, max(1, prefill_chunk))

    def peak_memory(self) -> int:
        """Always zero: nothing is allocated."""
        return 0

    def reset_peak_memory(self) -> None:
        """Nothing to reset."""

    def _script_ids(self, prompt: tuple[int, ...], params: GenerationParams) -> list[int]:
        text = "".join(chr(t) for t in prompt)
        self.prompts.append(text)
        script = self.script
        pieces = list(script(PromptTokens(text, prompt), params) if callable(script) else script)
        ids = []
        for piece in pieces:
            self._pieces.append(piece)
            ids.append(_TEXT_BASE + len(self._pieces) - 1)
        if self.eos or not ids:
            ids.append(FAKE_EOS)
        return ids


@dataclass
class _FakeSequence:
    prompt: tuple[int, ...]
    to_feed: int
    ids: list[int]
    max_tokens: int
    scores: bool
    produced: list[int] = field(default_factory=list)


class FakeBatch:
    """The FakeBackend's batch: chunked prefill, one token per decoding sequence per step."""

    def __init__(self, backend: FakeBackend, prefill_chunk: int) -> None:
        self._backend = backend
        self._chunk = prefill_chunk
        self._seqs: dict[int, _FakeSequence] = {}

    def __len__(self) -> int:
        return len(self._seqs)

    def add(self, key: int, spec: SequenceSpec) -> int:
        """Queue a sequence; a prefix shared with the last finished one counts as cached."""
        backend = self._backend
        cached = reusable_prefix(backend._history, spec.prompt)
        ids = backend._script_ids(spec.prompt, spec.params)
        self._seqs[key] = _FakeSequence(
            spec.prompt, len(spec.prompt) - cached, ids, spec.max_tokens,
            spec.top_logprobs is not None,
        )
        return cached

    def step(self) -> StepOutput:
        """Feed a chunk of each waiting prompt; one token for every sequence done feeding."""
        backend = self._backend
        out = StepOutput()
        fed = 0
        for key, seq in self._seqs.items():
            if seq.to_feed:
                n = min(self._chunk, seq.to_feed)
                seq.to_feed -= n
                out.prefilled[key] = n
                fed += n
        time.sleep(backend.prefill_delay * fed)
        decoding = [(k, s) for k, s in self._seqs.items() if not s.to_feed]
        if decoding:
            time.sleep(backend.step_delay)
            backend.steps += 1
        for key, seq in decoding:
            if len(seq.produced) >= seq.max_tokens:
                out.exhausted.add(key)
                continue
            if backend.fail_at is not None and len(seq.produced) == backend.fail_at:
                backend._history = ()
                raise RuntimeError("fake forward failed")
            token = seq.ids[len(seq.produced) % len(seq.ids)]
            seq.produced.append(token)
            backend.generated += 1
            backend._history = seq.prompt + tuple(seq.produced)
            out.tokens[key] = [token]
            if seq.scores:
                out.scores[key] = [TokenScore(0.0)]
        return out

    def remove(self, key: int) -> None:
        """Forget a sequence."""
        self._seqs.pop(key, None)

    def close(self) -> None:
        """Forget every sequence."""
        self._seqs.clear()
