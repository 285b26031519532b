"""What the fake hub serves: repos with commits, branches and tags, and per-file faults."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

# Files the real hub stores with git-lfs (served through a redirect to a "CDN" host).
LFS_SUFFIXES = (".safetensors", ".gguf", ".bin", ".pt", ".pth", ".npz", ".msgpack")
LFS_MIN_SIZE = 10_000

Gated = Literal[False, "auto", "manual"]


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob, which the hub uses as the ETag of regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(name: str, data: bytes) -> bool:
    """Whether the hub would store this file with git-lfs."""
    return name.endswith(LFS_SUFFIXES) or len(data) >= LFS_MIN_SIZE


@dataclass(frozen=True)
class RepoFileEntry:
    """One file of a commit, with the ids the hub reports for it."""

    path: str
    data: bytes

    @property
    def lfs(self) -> bool:
        """True when served as an LFS file (redirect, X-Linked-Etag / X-Linked-Size)."""
        return is_lfs(self.path, self.data)

    @property
    def git_oid(self) -> str:
        """The git blob id (what a regular file's ETag is)."""
        return git_blob_sha1(self.data)

    @property
    def sha256(self) -> str:
        """The LFS object id (what an LFS file's linked ETag is)."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def etag(self) -> str:
        """The ETag huggingface_hub stores the blob under."""
        return self.sha256 if self.lfs else self.git_oid


@dataclass
class Fault:
    """Misbehaviour injected when a file's bytes are fetched.

    ``drop_at``: the connection is cut once the file offset reaches this byte (a resumed
    request that starts at or past it gets its headers and then nothing). ``times``: how many
    GETs of the file are affected (``None``: every one). ``body``: bytes served instead of the
    real content (a corrupted or truncated file). ``stall_s``: seconds to wait before sending
    the second half of the body (a slow transfer, to interrupt it).
    """

    drop_at: int | None = None
    times: int | None = 1
    body: bytes | None = None
    stall_s: float = 0.0
    hits: int = 0

    def active(self) -> bool:
        """Whether the next GET is affected (and count it)."""
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass
class FakeRepo:
    """A hub repo: commits (file trees), refs (branches and tags), gating and faults."""

    repo_id: str
    gated: Gated = False
    granted_tokens: set[str] = field(default_factory=set)
    commits: dict[str, dict[str, RepoFileEntry]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)

    def commit(self, files: Mapping[str, bytes | str | Path], *, branch: str = "main") -> str:
        """Add a commit holding ``files`` on ``branch``; returns its 40-hex sha."""
        entries = {name: RepoFileEntry(name, _as_bytes(data)) for name, data in files.items()}
        h = hashlib.sha1(f"{self.repo_id}\0{self.refs.get(branch, '')}\0".encode())
        for name in sorted(entries):
            h.update(f"{name}\0{entries[name].git_oid}\0".encode())
        sha = h.hexdigest()
        self.commits[sha] = entries
        self.refs[branch] = sha
        return sha

    def tag(self, name: str, commit: str) -> None:
        """Point tag ``name`` at ``commit``."""
        self.refs[name] = commit

    def resolve(self, revision: str | None) -> str | None:
        """The commit a branch, tag or commit sha names, or None."""
        revision = revision or "main"
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None

    def allows(self, authorization: str | None) -> bool:
        """Whether a request with this Authorization header may read files."""
        if not self.gated:
            return True
        token = (authorization or "").removeprefix("Bearer ").strip()
        return token in self.granted_tokens


def _as_bytes(data: bytes | str | Path) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, Path):
        return data.read_bytes()
    return data.encode()


def files_from_dir(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (links followed) as repo path -> bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
