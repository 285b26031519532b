"""The launched group as one process group: its verdict read from the launcher's stderr, and
a stop that leaves nothing behind (a stand-in launcher; the real one is in tests/mlx)."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import psutil

from mlxk_core.distributed.launch import Launch

# A launcher's shape: it starts its "ranks" in its own process group, says how each ended on
# stderr as mlx.launch does, and (like mlx.launch) exits 0 whatever happened.
LAUNCHER = textwrap.dedent("""
    import pathlib, signal, subprocess, sys, time
    mode, out = sys.argv[1], pathlib.Path(sys.argv[2])
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    ranks = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
    out.write_text(" ".join(str(r.pid) for r in ranks))
    if mode == "fail":
        ranks[1].kill()
        ranks[1].wait()
        print("\\033[33m[WARN] Node with rank 1 exited with code 1 \\033[0m", file=sys.stderr)
        for r in ranks:
            r.kill()
        sys.exit(0)
    if mode == "ok":
        for r in ranks:
            r.kill()
        sys.exit(0)
    time.sleep(60)
""")


def _launch(tmp_path: Path, mode: str, seen: list[bytes]) -> tuple[Launch, list[int]]:
    script = tmp_path / "launcher.py"
    script.write_text(LAUNCHER)
    out = tmp_path / f"{mode}.pids"
    launch = Launch([sys.executable, str(script), mode, str(out)], on_stderr=seen.append,
                    grace=1.5)
    launch.start()
    deadline = time.monotonic() + 20
    while not (out.is_file() and out.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return launch, [int(p) for p in out.read_text().split()]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_rank_that_failed_makes_the_group_fail(tmp_path: Path) -> None:
    seen: list[bytes] = []
    launch, _ = _launch(tmp_path, "fail", seen)
    assert launch.wait() == 1
    assert b"Node with rank 1 exited with code 1" in b"".join(seen)  # passed on to the user
    launch, _ = _launch(tmp_path, "ok", [])
    assert launch.wait() == 0


def test_stop_ends_every_rank_even_one_that_ignores_sigterm_or_is_stopped(tmp_path: Path) -> None:
    launch, pids = _launch(tmp_path, "hang", [])
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    os.kill(pids[1], signal.SIGSTOP)  # a rank that stopped answering
    started = time.monotonic()
    launch.stop()
    launch.wait()
    assert time.monotonic() - started < 10
    assert not any(_alive(p) for p in pids)
