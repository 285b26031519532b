"""The checks a group makes before it loads anything: same versions, same snapshot, a model
that can be split this many ways, and a sharding mode the architecture supports.

Every rank contributes its own facts (a roll call over ``mlx.core.distributed``); each rank then
runs these functions on the same list and reaches the same verdict, so they all refuse, or all
go on, together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SHARDING_MODES",
    "ModelCheck",
    "RankInfo",
    "choose_mode",
    "model_problem",
    "split_problem",
    "version_problem",
]

SHARDING_MODES = ("auto", "tensor", "pipeline")
"""How to shard: ``tensor`` splits every layer across the ranks, ``pipeline`` gives each rank a
run of layers, ``auto`` takes tensor parallel where the architecture has it."""


@dataclass(frozen=True)
class RankInfo:
    """What a rank runs: its host and the versions that must match across the group."""

    rank: int
    host: str
    mlxk: str
    mlx: str | None
    mlx_lm: str | None


@dataclass(frozen=True)
class ModelCheck:
    """A rank's view of the model to load: the snapshot it found, or what went wrong."""

    rank: int
    host: str
    commit: str | None = None
    digest: str | None = None
    problem: str | None = None


def _who(rank: int, host: str) -> str:
    return f"rank {rank} ({host})"


def version_problem(infos: Sequence[RankInfo]) -> str | None:
    """Why these ranks cannot work together (another mlxk, mlx or mlx-lm), or None."""
    first = min(infos, key=lambda i: i.rank)
    for info in sorted(infos, key=lambda i: i.rank):
        for name, mine, theirs in (
            ("mlxk", info.mlxk, first.mlxk),
            ("mlx", info.mlx, first.mlx),
            ("mlx-lm", info.mlx_lm, first.mlx_lm),
        ):
            if mine != theirs:
                return (
                    f"{_who(info.rank, info.host)} runs {name} {mine or '(none)'} but "
                    f"{_who(first.rank, first.host)} runs {name} {theirs or '(none)'}: install "
                    "the same versions of mlxk, mlx and mlx-lm on every host"
                )
    return None


def model_problem(name: str, checks: Sequence[ModelCheck]) -> str | None:
    """Why the ranks cannot load ``name`` together (missing, another commit), or None."""
    ordered = sorted(checks, key=lambda c: c.rank)
    for check in ordered:
        if check.problem:
            return f"{_who(check.rank, check.host)}: {check.problem}"
    first = ordered[0]
    for check in ordered[1:]:
        if check.commit != first.commit:
            return (
                f"{_who(check.rank, check.host)} has {name} at commit "
                f"{(check.commit or 'none')[:12]} but {_who(first.rank, first.host)} at "
                f"{(first.commit or 'none')[:12]}: pull the same revision on every host "
                f"(`mlxk pull {name}@{first.commit or 'main'}`)"
            )
        if check.digest != first.digest:
            return (
                f"{_who(check.rank, check.host)} has another copy of {name} than "
                f"{_who(first.rank, first.host)} (its config or weight files differ): copy the "
                "same files to every host"
            )
    return None


def _text_config(config: Mapping[str, Any]) -> dict[str, Any]:
    nested = config.get("text_config")
    return {**config, **nested} if isinstance(nested, Mapping) else dict(config)


def split_problem(config: Mapping[str, Any], ranks: int, mode: str) -> str | None:
    """Why a model with ``config`` cannot be split ``ranks`` ways in ``mode``, or None."""
    cfg = _text_config(config)
    if mode == "pipeline":
        layers = cfg.get("num_hidden_layers")
        if isinstance(layers, int) and layers < ranks:
            return f"its {layers} layers cannot be split over {ranks} ranks"
        return None
    heads = cfg.get("num_attention_heads")
    sizes = {
        "attention heads": heads,
        "key/value heads": cfg.get("num_key_value_heads", heads),
        "intermediate size": cfg.get("intermediate_size"),
        "expert intermediate size": cfg.get("moe_intermediate_size"),
    }
    for what, value in sizes.items():
        if isinstance(value, int) and value % ranks:
            return f"its {value} {what} cannot be split evenly over {ranks} ranks"
    return None


def choose_mode(
    architecture: str, *, tensor: bool, pipeline: bool, requested: str, ranks: int,
    config: Mapping[str, Any],
) -> tuple[str | None, str | None]:
    """``(mode, None)``: how to shard; ``(None, why)`` when it cannot be done."""
    supported = [m for m, ok in (("tensor", tensor), ("pipeline", pipeline)) if ok]
    if not supported:
        return None, (
            f"mlx-lm cannot shard the '{architecture}' architecture (it has neither tensor "
            "nor pipeline parallelism): run it on one machine"
        )
    if requested != "auto" and requested not in supported:
        return None, (
            f"the '{architecture}' architecture has no {requested} parallelism in mlx-lm; "
            f"it supports: {', '.join(supported)}"
        )
    candidates = supported if requested == "auto" else [requested]
    problems = []
    for mode in candidates:
        problem = split_problem(config, ranks, mode)
        if problem is None:
            return mode, None
        problems.append(f"{mode} parallel: {problem}")
    return None, f"the model cannot be split over {ranks} ranks ({'; '.join(problems)})"
