"""The installed programs (`mlxk`, `mlxk-serve`) as a user starts them, in subprocesses."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def console_script(name: str) -> str:
    """The console script ``name`` installed beside this interpreter (pyproject declares it)."""
    path = Path(sys.executable).with_name(name)
    assert path.is_file(), f"{name} is not installed beside {sys.executable}: pip install -e ."
    return str(path)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], within: float = 30.0,
                 log: Path | None = None) -> None:
    """Wait until the server at ``url`` answers /health with 200; fail if ``proc`` exits first."""
    deadline = time.monotonic() + within
    while True:
        assert proc.poll() is None, "mlxk-serve exited early" + (
            f":\n{log.read_text(errors='replace')}" if log else "")
        assert time.monotonic() < deadline, "mlxk-serve did not answer /health"
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)


def assert_port_free(port: int) -> None:
    """A new server can listen on ``port`` (binding as uvicorn does, with reuse-addr)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
