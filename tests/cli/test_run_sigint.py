"""Ctrl-C on a real `mlxk run` process: `[interrupted]`, no traceback, nothing left running."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.factory.random_llama import build_random_llama
from tests.programs import console_script


@pytest.fixture
def babbler(tmp_path: Path) -> Path:
    """A random model: greedy decoding runs on through the whole 8K context."""
    return build_random_llama(tmp_path / "babbler")


def _wait_for_output(stream: object, timeout: float = 60.0) -> bytes:
    fd = stream.fileno()  # type: ignore[attr-defined]
    ready, _, _ = select.select([fd], [], [], timeout)
    assert ready, "no output before the timeout"
    return os.read(fd, 4096)


def _start(args: list[str], stdin: int | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [console_script("mlxk"), "run", *args, "--temperature", "0"], stdin=stdin,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy(),
    )


def test_ctrl_c_stops_a_single_shot_with_130(babbler: Path) -> None:
    proc = _start([str(babbler), "Tell me a story."])
    first = _wait_for_output(proc.stdout)
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert first + out
    assert b"[interrupted]" in err and b"Traceback" not in err
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)


def test_ctrl_c_in_a_chat_returns_to_the_prompt(babbler: Path) -> None:
    proc = _start([str(babbler), "-i"], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(b"Tell me a story.\n")
    proc.stdin.flush()
    _wait_for_output(proc.stdout)
    proc.send_signal(signal.SIGINT)
    deadline, err = time.monotonic() + 30, b""
    while b"[interrupted]" not in err and time.monotonic() < deadline:
        err += _wait_for_output(proc.stderr, timeout=30)
    _, rest = proc.communicate(b"exit\n", timeout=30)
    assert proc.returncode == 0
    assert b"[interrupted]" in err and b"Traceback" not in err + rest
