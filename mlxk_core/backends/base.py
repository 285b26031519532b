"""The backend seam: what the generation engine asks of a model runtime.

A backend loads one model, turns requests into prompt token ids, gives out one streaming
detokenizer per request and runs forward passes for a *batch* of sequences: the engine adds
sequences (prompt, sampler settings, budget), steps the batch (each running sequence gets its
next token; prompts are prefilled a chunk per step), and removes sequences. How a batch of one
runs (a single-stream fast path, say) is the backend's choice, invisible here. Everything else —
EOS and stop strings, the reasoning split, the token budget, usage and timings — is pure Python
in :mod:`mlxk_core.generation.sequence`, driven by :mod:`mlxk_core.engine`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mlxk_core.generation.constrained import TokenMatcher
from mlxk_core.generation.request import GenerationParams, GenerationRequest
from mlxk_core.generation.tools import ToolFormat

__all__ = [
    "Backend",
    "Batch",
    "Detokenizer",
    "ModelInfo",
    "PromptTokens",
    "SequenceSpec",
    "StepOutput",
    "TokenScore",
]


class Detokenizer(Protocol):
    """Streaming detokenizer: add token ids, read the newly completed text segment."""

    def add_token(self, token: int) -> None:
        """Append one token id."""

    def finalize(self) -> None:
        """Flush whatever is held back (incomplete UTF-8, pending spaces)."""

    @property
    def last_segment(self) -> str:
        """Text completed since the previous read."""


@dataclass(frozen=True)
class ModelInfo:
    """What the loaded model tells generation: EOS ids, context, template and special tokens."""

    name: str
    eos_token_ids: frozenset[int]
    context_length: int | None = None
    chat_template: str | None = None
    special_tokens: tuple[str, ...] = ()
    tool_format: ToolFormat | None = None  # None: the model has no tool calling


@dataclass(frozen=True)
class PromptTokens:
    """A formatted prompt: its text, its token ids, and whether the fallback transcript was used."""

    text: str
    tokens: tuple[int, ...]
    fallback_format: bool = False


@dataclass(frozen=True)
class SequenceSpec:
    """One sequence for a batch: prompt ids, sampling, budget, constraint and logprobs.

    ``top_logprobs`` None means no logprobs; 0 means the sampled token's only; N adds the N
    most likely alternatives. A ``params.seed`` gives the sequence its own random stream, so the
    same seed samples the same tokens alone and inside any batch. ``constraint`` masks the
    tokens that may come next (structured output, a forced tool call).
    """

    prompt: tuple[int, ...]
    params: GenerationParams
    max_tokens: int
    top_logprobs: int | None = None
    constraint: TokenMatcher | None = None


@dataclass(frozen=True)
class TokenScore:
    """The log-probability of a sampled token, and the most likely alternatives (id, logprob)."""

    logprob: float
    top: tuple[tuple[int, float], ...] = ()


@dataclass
class StepOutput:
    """What one batch step produced.

    ``tokens``: new token ids per sequence key. ``scores``: for sequences that asked for
    logprobs, one score per new token. ``exhausted``: sequences whose backend source ran dry
    (they produce nothing more). ``prefilled``: prompt tokens fed this step, per sequence.
    """

    tokens: dict[int, list[int]] = field(default_factory=dict)
    scores: dict[int, list[TokenScore]] = field(default_factory=dict)
    exhausted: set[int] = field(default_factory=set)
    prefilled: dict[int, int] = field(default_factory=dict)


class Batch(Protocol):
    """The running sequences of one loaded model, decoded together; used from one thread."""

    def add(self, key: int, spec: SequenceSpec) -> int:
        """Queue a sequence under ``key``; returns how many prompt tokens a reused cache holds."""

    def step(self) -> StepOutput:
        """One step: a token for every decoding sequence, a prefill chunk for waiting prompts."""

    def remove(self, key: int) -> None:
        """Stop a sequence (its cache may be kept for a later prompt with the same prefix)."""

    def close(self) -> None:
        """Drop every sequence; idempotent."""

    def __len__(self) -> int:
        """How many sequences are in the batch."""


class Backend(Protocol):
    """A model runtime. One instance holds at most one loaded model."""

    @property
    def loaded(self) -> bool:
        """Whether a model is loaded."""

    def load(self, path: Path, *, name: str) -> ModelInfo:
        """Load weights and tokenizer from a local directory (never a hub name)."""

    def close(self) -> None:
        """Drop the model, tokenizer and prompt caches and free memory; idempotent."""

    def encode(self, request: GenerationRequest) -> PromptTokens:
        """Format a request (chat template, fallback transcript or raw prompt) into token ids."""

    def detokenizer(self, *, raw: bool = False) -> Detokenizer:
        """A fresh streaming detokenizer for one request.

        ``raw``: the text continues a raw prompt, so a leading space is kept (chat answers drop it).
        """

    def token_matcher(self, grammar: str) -> TokenMatcher:
        """A fresh constraint state for one sequence, for a grammar from ``request_grammar``
        (InvalidRequest when this backend or tokenizer cannot enforce it)."""

    def token_bytes(self, token: int) -> bytes:
        """The bytes a token id stands for (it may be part of a character)."""

    def open_batch(self, *, max_batch: int, prefill_chunk: int) -> Batch:
        """A batch for this model: at most ``max_batch`` sequences decode together, prompts are
        fed at most ``prefill_chunk`` tokens per step."""

    def peak_memory(self) -> int:
        """Peak memory in bytes since the last ``reset_peak_memory``."""

    def reset_peak_memory(self) -> None:
        """Start a new peak-memory measurement."""
