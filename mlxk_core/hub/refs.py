"""Parse ``org/name[@revision]`` into a RepoRef, refusing names the hub would refuse."""

from __future__ import annotations

import re

from mlxk_core.errors import InvalidRequest
from mlxk_core.hub.records import RepoRef

__all__ = ["parse_repo_ref"]

_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_HINT = "use org/name or org/name@revision (a branch, tag or commit)"


def parse_repo_ref(text: str, revision: str | None = None) -> RepoRef:
    """``org/name@rev`` -> RepoRef; ``revision`` may be given instead of (or equal to) ``@rev``."""
    name, at, rev = text.strip().partition("@")
    if at and not rev:
        raise InvalidRequest(f"Empty revision in '{text}'", param="repo", hint=_HINT)
    if rev and revision and rev != revision:
        raise InvalidRequest(
            f"Two revisions given for '{name}': '{rev}' and '{revision}'",
            param="revision",
            hint=_HINT,
        )
    parts = name.split("/")
    valid = (
        1 <= len(parts) <= 2
        and all(_PART.fullmatch(p) for p in parts)
        and ".." not in name
        and "--" not in name
        and len(name) <= 96
    )
    if not valid:
        raise InvalidRequest(f"'{name}' is not a valid hub repo id", param="repo", hint=_HINT)
    return RepoRef(name, rev or revision or None)
