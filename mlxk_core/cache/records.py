"""Immutable records describing what the Hugging Face cache holds (data only, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "CachedFile",
    "CachedModel",
    "EmbeddingFacts",
    "EmbeddingFamily",
    "Framework",
    "GGUFVariant",
    "Health",
    "ModelFacts",
    "ModelRevision",
    "ModelType",
    "Pooling",
    "Quantization",
    "ResolvedModel",
]

Framework = Literal["mlx", "gguf", "pytorch", "unknown"]
ModelType = Literal["chat", "base", "embedding", "unknown"]
Pooling = Literal["mean", "cls", "last"]
EmbeddingFamily = Literal["decoder", "encoder"]


@dataclass(frozen=True)
class CachedFile:
    """One file of a snapshot: its path relative to the snapshot and its size on disk."""

    name: str
    path: Path
    size: int
    blob_path: Path | None = None


@dataclass(frozen=True)
class GGUFVariant:
    """One ``.gguf`` file of a GGUF repo, e.g. ``Q4_K_M`` with its size."""

    filename: str
    quant: str
    size: int


@dataclass(frozen=True)
class Quantization:
    """How weights are quantized: bits and group size, or an advanced mode such as mxfp4."""

    bits: int | None = None
    group_size: int | None = None
    mode: str | None = None
    min_mlx: str | None = None
    supported: bool = True

    @property
    def description(self) -> str:
        """Human text: ``4-bit, group 64``, or ``Advanced mode 'mxfp4' (requires MLX >=0.29.0)``."""
        if self.mode and self.mode != "affine":
            text = f"Advanced mode '{self.mode}'"
            if self.min_mlx:
                text += f" (requires MLX >={self.min_mlx})"
            return text
        parts = [f"{self.bits}-bit" if self.bits else "quantized"]
        if self.group_size:
            parts.append(f"group {self.group_size}")
        return ", ".join(parts)


@dataclass(frozen=True)
class EmbeddingFacts:
    """How an embedding model makes one vector per text, as its files declare.

    ``family``: ``decoder`` (an mlx-lm language model, Qwen3-Embedding say) or ``encoder`` (BERT,
    XLM-RoBERTa, ModernBERT through mlx-embeddings). ``max_tokens``: the sentence-transformers
    ``max_seq_length``, when set. ``matryoshka``: trained so that a prefix of the vector is a
    good shorter vector (``dimensions`` may be asked for). ``unsupported``: why mlxk cannot run
    it as its authors intended (a Dense projection, a pooling mode it lacks), or None.
    """

    family: EmbeddingFamily
    pooling: Pooling
    dimension: int | None = None
    max_tokens: int | None = None
    matryoshka: bool = False
    unsupported: str | None = None


@dataclass(frozen=True)
class ModelFacts:
    """What the files say about a model; only ``reasoning`` also heeds the model's name.

    ``reasoning`` follows :func:`mlxk_core.generation.reasoning.is_reasoning_model`, the rule that
    `run` and the server apply too.
    """

    framework: Framework = "unknown"
    model_type: ModelType = "unknown"
    architecture: str | None = None
    precision: str | None = None
    quantization: Quantization | None = None
    gguf_variants: tuple[GGUFVariant, ...] = ()
    context_length: int | None = None
    reasoning: bool = False
    embedding: EmbeddingFacts | None = None  # set for embedding models
    tools: bool = False  # the chat template renders offered tools (or a tool parser is named)

    @property
    def capabilities(self) -> tuple[str, ...]:
        """What the model can be asked for: completion, chat, tools, reasoning, embedding."""
        if self.model_type == "embedding":
            return ("embedding",)
        found = ["completion"] if self.model_type in ("chat", "base") else []
        if self.model_type == "chat":
            found.append("chat")
            found += ["tools"] if self.tools else []
        found += ["reasoning"] if self.reasoning else []
        return tuple(found)


@dataclass(frozen=True)
class Health:
    """Whether a snapshot can be loaded, and if not, every reason why."""

    healthy: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelRevision:
    """One cached revision (snapshot) of a repo, with its facts and health."""

    repo_id: str
    commit_hash: str
    refs: tuple[str, ...]
    snapshot_path: Path
    files: tuple[CachedFile, ...]
    size_on_disk: int
    last_modified: float
    facts: ModelFacts
    health: Health


@dataclass(frozen=True)
class CachedModel:
    """A cached repo with all its revisions; ``warnings`` lists layout problems found."""

    repo_id: str
    repo_path: Path
    revisions: tuple[ModelRevision, ...]
    size_on_disk: int
    last_modified: float
    warnings: tuple[str, ...] = field(default=())

    @property
    def latest(self) -> ModelRevision | None:
        """The revision ``main`` points to, else the most recently modified one."""
        for rev in self.revisions:
            if "main" in rev.refs:
                return rev
        return max(self.revisions, key=lambda r: r.last_modified, default=None)

    @property
    def healthy(self) -> bool:
        """True when the repo has a revision and every revision is healthy."""
        return bool(self.revisions) and not self.warnings and all(
            r.health.healthy for r in self.revisions
        )


@dataclass(frozen=True)
class ResolvedModel:
    """A name resolved to a local directory: a cache snapshot or a user's model folder."""

    name: str
    path: Path
    facts: ModelFacts
    health: Health
    repo_id: str | None = None
    commit_hash: str | None = None
