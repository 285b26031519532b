"""Check downloaded files against the ids the hub named them by; drop the ones that differ.

huggingface_hub checks a file's size but not its content: a blob is stored under the etag the
hub announced (the sha256 of an LFS file, the git blob id of a small one) whatever bytes came.
A file whose bytes do not hash to its blob's name is deleted (blob and snapshot link), so the
model stays incomplete and unhealthy, and the next pull fetches the file again.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from mlxk_core.cache.listing import is_inside
from mlxk_core.errors import PullInterrupted
from mlxk_core.hub.records import RepoRef

__all__ = ["content_matches", "verify_downloads"]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_GIT_OID = re.compile(r"[0-9a-f]{40}")
_CHUNK = 1 << 20


def content_matches(blob: Path) -> bool | None:
    """Whether ``blob``'s bytes hash to its file name (None: the name is not a known hash)."""
    name = blob.name
    if _SHA256.fullmatch(name):
        digest = hashlib.sha256()
    elif _GIT_OID.fullmatch(name):
        digest = hashlib.sha1(b"blob %d\0" % blob.stat().st_size, usedforsecurity=False)
    else:
        return None
    with open(blob, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == name


def verify_downloads(snapshot: Path, names: Iterable[str], ref: RepoRef) -> None:
    """Check ``names`` of ``snapshot``; delete mismatching files and raise PullInterrupted."""
    bad: list[str] = []
    cache_dir = snapshot.parents[2]  # <cache>/models--org--name/snapshots/<commit>
    for name in sorted(names):
        link = snapshot / name
        if not link.is_symlink():
            continue
        blob = Path(os.path.realpath(link))
        if not is_inside(cache_dir, blob) or not blob.is_file():
            continue
        if content_matches(blob) is False:
            bad.append(name)
            blob.unlink()
            link.unlink()
    if bad:
        raise PullInterrupted(
            f"{', '.join(bad)} of {ref} arrived corrupted (the content does not match the "
            "checksum the hub announced); the damaged files were deleted",
            hint=f"run `mlxk pull {ref}` again to fetch them anew",
        )
