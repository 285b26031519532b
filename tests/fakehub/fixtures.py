"""Pytest fixtures for fake-hub tests; bind them in a test module: `hub = fixtures.hub`."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlxk_core.settings import Settings
from tests.fakehub import FakeHub


def cache_picture(root: Path) -> dict[str, str]:
    """Every path under ``root`` with its kind and its content hash, size or link target."""
    picture: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                picture[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                picture[rel] = "dir"
            else:
                data = path.read_bytes()
                picture[rel] = f"file:{len(data)}:{hashlib.sha256(data).hexdigest()}"
    return picture


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A running fake hub that HF_ENDPOINT points at."""
    with FakeHub() as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


@pytest.fixture
def settings(hub: FakeHub) -> Settings:
    """Settings read from the test's environment (isolated cache, fake hub endpoint)."""
    return Settings.from_env()


@pytest.fixture
def no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub sleeps 1 s before each of its five resume attempts: skip the wait."""
    import huggingface_hub.file_download as fd

    monkeypatch.setattr(fd.time, "sleep", lambda _s: None)
