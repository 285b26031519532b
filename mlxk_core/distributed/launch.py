"""``mlx.launch`` and every rank it starts, run as one process group that stops as one.

The launcher runs in a session of its own, so a signal to mlxk reaches the ranks only through
:meth:`Launch.stop`: SIGTERM to the whole group (the launcher, the local ranks and the ssh
sessions of remote ones, whose ranks then get SIGHUP), SIGKILL for whatever is left after a
grace period. The launcher dies at once on SIGTERM while its ranks may still be closing down,
so :meth:`Launch.wait` waits for the group, not the launcher. ``mlx.launch`` exits 0 even when
a rank failed; it says so on stderr ("Node with rank N exited with code X"), which is how a
failed group is told from a good one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mlxk_core.distributed.plan import (
    LOCAL,
    LaunchPlan,
    hostfile_hosts,
    launcher_argv,
    resolve_hosts,
)
from mlxk_core.errors import BackendUnavailable, LaunchFailed

__all__ = [
    "Launch",
    "check_reachable",
    "find_launcher",
    "rank_command",
    "start_group",
    "watch_parent",
]

_FAILED = re.compile(rb"Node with rank (\d+) (?:exited with code (-?\d+)|was killed)")


def find_launcher() -> list[str]:
    """The ``mlx.launch`` command (beside this interpreter, else on PATH)."""
    beside = Path(sys.executable).with_name("mlx.launch")
    found = str(beside) if beside.is_file() else shutil.which("mlx.launch")
    if found is None:
        raise BackendUnavailable(
            "mlx.launch is not installed", hint="install mlx (it ships the mlx.launch launcher)"
        )
    return [found]


def rank_command(args: Sequence[str]) -> list[str]:
    """The command every rank runs: this interpreter's mlxk with ``args`` (same path on every
    host, as mlx.launch expects)."""
    return [sys.executable, "-m", "mlxk_cli", *args]


def watch_parent(on_gone: Callable[[], None], *, interval: float = 0.5) -> None:
    """Call ``on_gone`` once, from a daemon thread, when the process that started this one is
    gone: a launcher killed outright leaves its ranks behind otherwise."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        on_gone()

    threading.Thread(target=watch, name="mlxk-parent", daemon=True).start()


def check_reachable(hosts: Sequence[str], *, timeout: float = 10.0) -> None:
    """LaunchFailed naming every host that ssh cannot reach without a password (mlx.launch
    would wait on it); 127.0.0.1 needs no ssh."""
    remote = sorted({h for h in hosts if h != LOCAL})
    if not remote:
        return
    if shutil.which("ssh") is None:
        raise LaunchFailed(f"ssh is not installed: it is needed to reach {', '.join(remote)}")
    problems: dict[str, str] = {}

    def probe(host: str) -> None:
        argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(timeout)}", host, "true"]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout + 5)
        except subprocess.TimeoutExpired:
            problems[host] = f"no answer within {timeout:.0f} s"
            return
        if done.returncode:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            problems[host] = lines[-1] if lines else f"ssh exited with {done.returncode}"

    threads = [threading.Thread(target=probe, args=(h,), daemon=True) for h in remote]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if problems:
        found = "; ".join(f"{h}: {why}" for h, why in sorted(problems.items()))
        raise LaunchFailed(
            f"Cannot reach every host over ssh ({found})",
            hint="each host must accept `ssh HOST` without a password and have mlxk installed "
            "at the same path",
        )


def start_group(
    plan: LaunchPlan, args: Sequence[str], *, on_stderr: Callable[[bytes], None],
    inherit_stdin: bool = False, feed: bytes | None = None,
) -> Launch:
    """Check the flags and the hosts, then start every rank running ``mlxk args``; ``feed``
    (or this process's own stdin, ``inherit_stdin``) goes to every rank's stdin."""
    plan.check()
    launcher = find_launcher()
    hostfile: Path | None = None
    if plan.hosts:
        hosts = resolve_hosts(plan.hosts)
        check_reachable([h["ssh"] for h in hosts])
        fd, name = tempfile.mkstemp(prefix="mlxk-hosts-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(hosts, fh)
        hostfile = Path(name)
    elif plan.hostfile is not None:
        check_reachable(hostfile_hosts(plan.hostfile))
    argv = launcher_argv(plan, rank_command(args), launcher=launcher, hostfile=hostfile)
    launch = Launch(argv, on_stderr=on_stderr, inherit_stdin=inherit_stdin, feed=feed,
                    remove=hostfile)
    launch.start()
    return launch


class Launch:
    """One launched group: ``start()``, then ``wait()``; ``stop()`` from any thread."""

    def __init__(
        self, argv: Sequence[str], *, on_stderr: Callable[[bytes], None],
        inherit_stdin: bool = False, feed: bytes | None = None, grace: float = 6.0,
        remove: Path | None = None,
    ) -> None:
        """``on_stderr`` receives the group's stderr as it comes (the ranks' messages);
        ``feed``: bytes for the ranks' stdin (mlx.launch never passes an end of input on);
        ``remove``: a file to delete once the group has ended (a generated hostfile)."""
        self._argv = list(argv)
        self._remove = remove
        self._on_stderr = on_stderr
        self._inherit_stdin = inherit_stdin
        self._feed = feed
        self._grace = grace
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._failed: set[int] = set()
        self._stop_at: float | None = None

    @property
    def pid(self) -> int | None:
        """The launcher's pid: also the process group of every rank it starts."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the launcher in a session of its own."""
        stdin = subprocess.PIPE if self._feed is not None else subprocess.DEVNULL
        self._proc = subprocess.Popen(
            self._argv, start_new_session=True, stderr=subprocess.PIPE,
            stdin=None if self._inherit_stdin else stdin,
        )
        if self._feed is not None and self._proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.write(self._feed)
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.close()
        self._reader = threading.Thread(target=self._read, name="mlxk-launch", daemon=True)
        self._reader.start()

    def stop(self) -> None:
        """SIGTERM (and SIGCONT) to the whole group; :meth:`wait` kills what is left after the
        grace period."""
        if self._stop_at is None and self._proc is not None:
            self._stop_at = time.monotonic()
            self._signal(signal.SIGTERM)
            self._signal(signal.SIGCONT)  # a stopped rank takes its SIGTERM only once resumed

    def wait(self) -> int:
        """Wait for the launcher, then for its ranks (SIGKILL after the grace period, or 2 s
        after the launcher ended by itself); 0 if every rank ended well."""
        proc = self._proc
        assert proc is not None, "start() first"
        code = proc.wait()
        ended = time.monotonic()
        while self._signal(0):
            limit = ended + 2.0 if self._stop_at is None else self._stop_at + self._grace
            if time.monotonic() > limit:
                self._signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        if self._reader is not None:
            self._reader.join(5)
        if self._remove is not None:
            self._remove.unlink(missing_ok=True)
        if self._inherit_stdin:  # mlx.launch leaves a shared terminal non-blocking
            with contextlib.suppress(OSError, ValueError):
                os.set_blocking(sys.stdin.fileno(), True)
        return 1 if code or self._failed else 0

    def _signal(self, sig: int) -> bool:
        """Signal the group; whether any process of it was there to receive it."""
        if self._proc is None:
            return False
        try:
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        fd = self._proc.stderr.fileno()
        pending = b""
        for data in iter(lambda: os.read(fd, 65536), b""):
            self._on_stderr(data)
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                found = _FAILED.search(line)
                if found and found.group(2) != b"0" and self._stop_at is None:
                    self._failed.add(int(found.group(1)))
