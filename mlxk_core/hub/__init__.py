"""Pulling models from the Hugging Face hub: preflight, plan, transfer with progress, health."""

from mlxk_core.hub.preflight import plan_pull, weights_warning
from mlxk_core.hub.pull import pull
from mlxk_core.hub.records import (
    PlannedFile,
    PullPhase,
    PullPlan,
    PullProgress,
    PullResult,
    RepoRef,
)
from mlxk_core.hub.refs import parse_repo_ref

__all__ = [
    "PlannedFile",
    "PullPhase",
    "PullPlan",
    "PullProgress",
    "PullResult",
    "RepoRef",
    "parse_repo_ref",
    "plan_pull",
    "pull",
    "weights_warning",
]
