"""Rank 0's backend for a model sharded over a group: the engine's Backend and Batch seams.

The engine sees one more backend. Tokenizing and detokenizing happen here on rank 0; every call
that touches the model (load, open, add, step, remove, close, unload) goes through the
:class:`~mlxk_core.backends.mlx_driver.Driver`, which applies it on every rank in the same order.
A sequence that samples gets its seed here, before it is sent, so all ranks draw the same
tokens. After the group broke, ``remove`` and ``close`` do nothing (the next ``step``, ``add``
or ``load`` says GroupBroken), so releasing a model never fails.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlxk_core.backends.base import Detokenizer, ModelInfo, PromptTokens, SequenceSpec, StepOutput
from mlxk_core.backends.cpu_fastpath import Layout
from mlxk_core.backends.mlx import encode_request, make_detokenizer, model_info
from mlxk_core.backends.mlx_driver import Driver
from mlxk_core.cache.records import ResolvedModel
from mlxk_core.distributed.protocol import (
    Add,
    Close,
    Load,
    ModelRef,
    Open,
    Remove,
    Step,
    Unload,
    seeded,
)
from mlxk_core.errors import GenerationError, GroupBroken, InvalidRequest
from mlxk_core.generation.constrained import GrammarCompiler, TokenMatcher
from mlxk_core.generation.request import GenerationRequest

__all__ = ["ShardedBackend", "ShardedBatch"]


class ShardedBatch:
    """The batch of a sharded model; keys are the engine's sequence ids."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._keys: set[int] = set()

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: int, spec: SequenceSpec) -> int:
        """Queue a sequence on every rank; how many prompt tokens a reused cache holds."""
        keep = int(self._driver.call(Add(key, seeded(spec))))
        self._keys.add(key)
        return keep

    def step(self) -> StepOutput:
        """One step on every rank; rank 0's tokens."""
        out: StepOutput = self._driver.call(Step())
        self._keys -= out.exhausted
        return out

    def remove(self, key: int) -> None:
        """Stop a sequence on every rank (one that ran dry is gone already)."""
        if key in self._keys:
            self._keys.discard(key)
            with contextlib.suppress(GroupBroken):
                self._driver.call(Remove(key))

    def close(self) -> None:
        """Drop every sequence; idempotent."""
        self._keys.clear()
        with contextlib.suppress(GroupBroken):
            self._driver.call(Close())


class ShardedBackend:
    """A model sharded over the driver's group, seen from rank 0."""

    def __init__(
        self, driver: Driver, model: ResolvedModel, *, mode: str = "auto",
        dtype: str | None = None, dequantize: bool | None = None,
        tool_parser: str | None = None,
    ) -> None:
        """``mode``: auto, tensor or pipeline; ``dtype`` / ``dequantize`` hold on every rank
        (quantized weights stay quantized unless ``dequantize``: the layout must not depend on
        each host's memory)."""
        self._driver = driver
        self._model = model
        self._mode = mode
        self._dtype = dtype
        self._dequantize = bool(dequantize)
        self._tool_parser = tool_parser
        self.tokenizer: Any = None
        self._bytes: Callable[[int], bytes] | None = None
        self.layout: Layout | None = None
        self.mode: str | None = None
        self.ranks: tuple[dict[str, Any], ...] = ()

    @property
    def loaded(self) -> bool:
        """Whether the model is loaded (on every rank)."""
        return self.tokenizer is not None

    def load(self, path: Path, *, name: str) -> ModelInfo:
        """Load every rank's shard of the snapshot at ``path`` (rank 0's copy)."""
        ref = ModelRef(name=name, path=str(path), repo_id=self._model.repo_id,
                       commit=self._model.commit_hash)
        done = self._driver.call(Load(ref, self._mode, self._dtype, self._dequantize))
        self.mode, self.ranks = done.mode, done.ranks
        size = self._driver.channel.size
        self.layout = dataclasses.replace(
            done.layout, reason=f"{done.layout.reason}; {done.mode} parallel over {size} ranks"
        )
        info = model_info(name, path, done.tokenizer, done.config, self._tool_parser)
        self.tokenizer = done.tokenizer
        return info

    def close(self) -> None:
        """Release the model on every rank; idempotent, never fails."""
        if self.tokenizer is None:
            return
        self.tokenizer = None
        with contextlib.suppress(GroupBroken):
            self._driver.call(Unload())

    def encode(self, request: GenerationRequest) -> PromptTokens:
        """Chat template (or the fallback transcript), or the raw prompt, as token ids."""
        return encode_request(self._tok(), request)

    def detokenizer(self, *, raw: bool = False) -> Detokenizer:
        """A fresh streaming detokenizer (one per request)."""
        return make_detokenizer(self._tok(), raw=raw)

    def token_matcher(self, grammar: str) -> TokenMatcher:
        """Structured output and forced tool calls are not sharded yet: refused clearly."""
        raise InvalidRequest(
            "Constrained output (response_format, a forced tool call) is not available for a "
            "model sharded over several processes", param="response_format",
            hint="serve the model in one process for structured output",
        )

    def token_bytes(self, token: int) -> bytes:
        """The bytes a token id stands for (rank 0's tokenizer)."""
        if self._bytes is None:
            self._bytes = GrammarCompiler(self._tok(), eos_token_ids=()).token_bytes
        return self._bytes(token)

    def open_batch(self, *, max_batch: int, prefill_chunk: int) -> ShardedBatch:
        """Open the batch on every rank."""
        self._tok()
        self._driver.call(Open(max_batch, prefill_chunk))
        return ShardedBatch(self._driver)

    def peak_memory(self) -> int:
        """Rank 0's peak memory in bytes."""
        import mlx.core as mx

        return int(mx.get_peak_memory())

    def reset_peak_memory(self) -> None:
        """Start a new peak-memory measurement (rank 0)."""
        import mlx.core as mx

        mx.reset_peak_memory()

    def _tok(self) -> Any:
        if self.tokenizer is None:
            raise GenerationError("No model loaded", hint="load the model first")
        return self.tokenizer
