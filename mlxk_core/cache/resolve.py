"""Model name resolution: ``org/name``, short names, ``name@revision``, local model folders."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from mlxk_core.cache.facts import read_facts
from mlxk_core.cache.health import check_health
from mlxk_core.cache.listing import is_inside
from mlxk_core.cache.records import CachedModel, ModelRevision, ResolvedModel
from mlxk_core.errors import AmbiguousModel, ModelNotFound, UnhealthyModel, UnsafePath

__all__ = [
    "Named",
    "close_matches",
    "find_repo",
    "find_revision",
    "resolve_name",
    "resolved_revision",
    "split_name",
]



class Named(Protocol):
    """Anything with a repo id: a cached model, or just its name."""

    @property
    def repo_id(self) -> str:
        """``org/name`` (or ``name``)."""


N = TypeVar("N", bound=Named)

_PREFERRED_ORG = "mlx-community/"
_HEX = set("0123456789abcdef")


def split_name(name: str) -> tuple[str, str | None]:
    """``org/name@rev`` -> (``org/name``, ``rev``); the revision is None when not given."""
    base, sep, revision = name.strip().partition("@")
    if sep and not revision:
        raise ModelNotFound(name, hint="give a revision after '@', e.g. name@main")
    return base, revision if sep else None


def find_repo(models: Sequence[N], name: str) -> N:
    """The one cached repo ``name`` means: an exact id, else a unique short name."""
    _check_cache_name(name)
    lower = name.lower()
    exact = [m for m in models if m.repo_id == name]
    if "/" in name:
        matches = exact or [m for m in models if m.repo_id.lower() == lower]
    else:
        matches = exact or [m for m in models if _short(m.repo_id) == name]
        matches = matches or [m for m in models if _short(m.repo_id).lower() == lower]
    if len(matches) == 1:
        return matches[0]
    if matches:
        preferred = [m for m in matches if m.repo_id.startswith(_PREFERRED_ORG)]
        if len(preferred) == 1:
            return preferred[0]
        raise AmbiguousModel(name, sorted(m.repo_id for m in matches))
    raise ModelNotFound(name, close_matches(models, name))


def find_revision(model: CachedModel, revision: str | None) -> ModelRevision:
    """The revision of ``model`` named by a ref or a commit-hash prefix (default: the latest)."""
    if revision is None:
        latest = model.latest
        if latest is None:
            raise UnhealthyModel(model.repo_id, model.warnings or ("no snapshot in the cache",))
        return latest
    matches = [r for r in model.revisions if revision in r.refs]
    if not matches and set(revision.lower()) <= _HEX:
        matches = [r for r in model.revisions if r.commit_hash.startswith(revision.lower())]
    if len(matches) == 1:
        return matches[0]
    label = f"{model.repo_id}@{revision}"
    if matches:
        raise AmbiguousModel(label, [f"{model.repo_id}@{r.commit_hash}" for r in matches])
    available = [f"{model.repo_id}@{r.commit_hash[:12]}" for r in model.revisions]
    raise ModelNotFound(
        label,
        available,
        hint=f"run `mlxk show {model.repo_id}` to list its cached revisions",
    )


def resolve_name(
    models: Sequence[CachedModel], cache_dir: Path, name: str, *, allow_local: bool = True
) -> ResolvedModel:
    """Resolve ``name`` to a local folder: a cached snapshot, or a local model directory."""
    if _looks_like_path(name):
        if not allow_local:
            raise UnsafePath(f"'{name}' is a path, not a model name", hint="use org/name")
        return _resolve_path(models, cache_dir, name)
    base, revision = split_name(name)
    try:
        model = find_repo(models, base)
    except ModelNotFound:
        if allow_local and revision is None and _is_model_dir(Path(name)):
            return _resolve_path(models, cache_dir, name)
        raise
    return resolved_revision(cache_dir, name, find_revision(model, revision))


def close_matches(models: Sequence[Named], name: str) -> list[str]:
    """Up to five cached repo ids that look like ``name`` (substring or difflib matches)."""
    lower = name.lower()
    keys: dict[str, str] = {}
    for m in models:
        keys.setdefault(m.repo_id.lower(), m.repo_id)
        keys.setdefault(_short(m.repo_id).lower(), m.repo_id)
    found = [m.repo_id for m in models if lower and lower in m.repo_id.lower()]
    found += [keys[k] for k in difflib.get_close_matches(lower, list(keys), n=5, cutoff=0.6)]
    return list(dict.fromkeys(found))[:5]


def _short(repo_id: str) -> str:
    return repo_id.rsplit("/", 1)[-1]


def _check_cache_name(name: str) -> None:
    parts = name.split("/")
    if "\\" in name or ".." in parts or name.startswith(("/", "~")) or "\x00" in name:
        raise UnsafePath(f"'{name}' is not a valid model name", hint="use the form org/name")
    if not name or "" in parts or len(parts) > 2:
        raise ModelNotFound(name, hint="use the form org/name or a short model name")


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~", ".\\")) or name in {".", ".."}


def _is_model_dir(path: Path) -> bool:
    return (path.expanduser() / "config.json").is_file()


def _resolve_path(models: Sequence[CachedModel], cache_dir: Path, name: str) -> ResolvedModel:
    path = Path(os.path.realpath(Path(name).expanduser()))
    if is_inside(cache_dir, path):
        for model in models:
            for rev in model.revisions:
                if os.path.realpath(rev.snapshot_path) == str(path):
                    return resolved_revision(cache_dir, name, rev)
        raise UnsafePath(
            f"'{name}' points inside the cache's internals",
            hint="name the model instead (see `mlxk list`)",
        )
    if not path.is_dir():
        raise ModelNotFound(name, hint="give an existing model folder or a cached model name")
    if not (path / "config.json").is_file() and not any(path.glob("*.gguf")):
        raise ModelNotFound(name, hint=f"{path} has no config.json: it is not a model folder")
    facts = read_facts(path, name=name)
    return ResolvedModel(name=name, path=path, facts=facts, health=check_health(path))


def resolved_revision(cache_dir: Path, name: str, rev: ModelRevision) -> ResolvedModel:
    """``rev`` as what ``name`` resolves to; UnsafePath when its files link out of the cache."""
    outside = [f.name for f in rev.files if not is_inside(cache_dir, f.path)]
    if outside or not is_inside(cache_dir, rev.snapshot_path):
        raise UnsafePath(
            f"'{name}' has files linking outside the cache: {', '.join(outside) or 'snapshot'}",
            hint="mlxk never follows such links: check where they point, remove them by hand",
        )
    return ResolvedModel(
        name=name,
        path=rev.snapshot_path,
        facts=rev.facts,
        health=rev.health,
        repo_id=rev.repo_id,
        commit_hash=rev.commit_hash,
    )
