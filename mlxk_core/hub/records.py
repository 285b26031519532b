"""Frozen values that describe a pull: what was asked, what it plans, how far it got, what came."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlxk_core.cache.records import Health, ModelFacts

__all__ = ["PlannedFile", "PullPhase", "PullPlan", "PullProgress", "PullResult", "RepoRef"]

PullPhase = Literal["planned", "downloading", "finished"]


@dataclass(frozen=True)
class RepoRef:
    """A hub repo and an optional revision (branch, tag or commit), as in ``org/name@rev``."""

    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return f"{self.repo_id}@{self.revision}" if self.revision else self.repo_id


@dataclass(frozen=True)
class PlannedFile:
    """One file of the repo at the pulled commit: its size and whether the cache has it."""

    name: str
    size: int | None
    cached: bool


@dataclass(frozen=True)
class PullPlan:
    """What a pull will fetch, known after the preflight and before any byte is written."""

    repo_id: str
    revision: str
    commit_hash: str
    gated: bool
    files: tuple[PlannedFile, ...]
    warnings: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        """Size of every file of the snapshot."""
        return sum(f.size or 0 for f in self.files)

    @property
    def download_bytes(self) -> int:
        """Size of the files not yet in the cache (what the transfer moves)."""
        return sum(f.size or 0 for f in self.files if not f.cached)

    @property
    def cached_files(self) -> tuple[PlannedFile, ...]:
        """Files the cache already holds (they are not downloaded again)."""
        return tuple(f for f in self.files if f.cached)


@dataclass(frozen=True)
class PullProgress:
    """A progress report: ``planned`` once, ``downloading`` as bytes arrive, ``finished`` once."""

    phase: PullPhase
    plan: PullPlan
    downloaded_bytes: int
    total_bytes: int

    @property
    def fraction(self) -> float:
        """Share of ``total_bytes`` transferred, from 0.0 to 1.0."""
        if self.total_bytes <= 0:
            return 1.0 if self.phase == "finished" else 0.0
        return min(1.0, self.downloaded_bytes / self.total_bytes)


@dataclass(frozen=True)
class PullResult:
    """What a finished pull brought: the snapshot, bytes moved, and the health of what arrived."""

    plan: PullPlan
    snapshot_path: Path
    downloaded_bytes: int
    health: Health
    facts: ModelFacts

    @property
    def repo_id(self) -> str:
        """The repo pulled."""
        return self.plan.repo_id

    @property
    def revision(self) -> str:
        """The revision asked for (``main`` by default)."""
        return self.plan.revision

    @property
    def commit_hash(self) -> str:
        """The commit the revision resolved to."""
        return self.plan.commit_hash

    @property
    def warnings(self) -> tuple[str, ...]:
        """Things the user should know, such as weights MLX cannot run."""
        return self.plan.warnings
