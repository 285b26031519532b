"""Helpers for pull fault tests: run `mlxk`, judge the cache, fill the disk."""

from __future__ import annotations

import errno
import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from typer.testing import CliRunner, Result

from mlxk_cli.app import app
from mlxk_core.cache.index import CacheIndex

__all__ = ["assert_no_healthy_half_model", "assert_told", "enospc_after", "mlxk", "tmpfs"]


def mlxk(*args: str) -> Result:
    """Run `mlxk ARGS...` in-process (stdout and stderr kept apart)."""
    return CliRunner().invoke(app, list(args))


def assert_told(result: Result, *phrases: str) -> None:
    """Exit 1 with an `Error:` line (and a hint), never a traceback; the phrases appear."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("Error: "), result.stderr
    assert len(lines) <= 2 and (len(lines) == 1 or lines[1].startswith("Hint: ")), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    text = " ".join(result.stderr.split())
    for phrase in phrases:
        assert phrase in text, (phrase, result.stderr)


def assert_no_healthy_half_model(cache: Path) -> None:
    """No model in the cache is healthy, for the core index and for `mlxk list --health`."""
    assert not any(m.healthy for m in CacheIndex(cache).models())
    listed = json.loads(mlxk("list", "--all", "--health", "--json").stdout)["data"]["models"]
    assert not [m["name"] for m in listed if m["health"]["healthy"]]
    assert not list(cache.rglob("*.incomplete")), "a partial download was left behind"


@contextmanager
def tmpfs(mountpoint: Path, size_kb: int) -> Iterator[Callable[[int], None]]:
    """Mount a tmpfs of ``size_kb`` (skip the test where mounting is not allowed); yields a
    function that resizes it."""
    mountpoint.mkdir(parents=True, exist_ok=True)

    def mount(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(mountpoint)],
            capture_output=True,
            text=True,
            check=False,
        )

    done = mount(f"size={size_kb}k")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")

    def resize(kb: int) -> None:
        assert mount("remount", f"size={kb}k").returncode == 0

    try:
        yield resize
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


class _FullDisk:
    """A file proxy whose writes fail with ENOSPC once ``limit`` bytes were written."""

    def __init__(self, inner: BinaryIO, limit: int) -> None:
        self.inner = inner
        self.left = limit

    def write(self, data: bytes) -> int:
        if len(data) > self.left:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.left -= len(data)
        return self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def enospc_after(monkeypatch: pytest.MonkeyPatch, limit: int) -> Callable[[], None]:
    """Make huggingface_hub's file downloads fail with ENOSPC past ``limit`` bytes per file
    (in-process stand-in for a full disk); returns a function that frees the disk."""
    import huggingface_hub.file_download as fd

    original = fd.http_get

    def http_get(url: str, temp_file: BinaryIO, **kwargs: Any) -> None:
        original(url, _FullDisk(temp_file, limit), **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fd, "http_get", http_get)
    return lambda: monkeypatch.setattr(fd, "http_get", original)
