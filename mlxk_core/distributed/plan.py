"""Where the ranks of a group start, and the ``mlx.launch`` command line that starts them.

``--ranks N`` starts N ranks on this machine (memory split, and tests); ``--hosts h1,h2`` or a
hostfile start one rank per entry, over ssh where the host is not 127.0.0.1. Host names are
resolved here to the addresses the ring backend needs, so a name that does not resolve fails
before anything starts.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlxk_core.distributed.env import DISTRIBUTED_BACKENDS, LAUNCHED_ENV
from mlxk_core.errors import LaunchFailed

__all__ = ["LOCAL", "LaunchPlan", "hostfile_hosts", "launcher_argv", "resolve_hosts"]

LOCAL = "127.0.0.1"
"""The one host ``mlx.launch`` starts without ssh."""


@dataclass(frozen=True)
class LaunchPlan:
    """The convenience flags: ``ranks`` on this machine, or ``hosts``, or a ``hostfile``."""

    ranks: int | None = None
    hosts: tuple[str, ...] = ()
    hostfile: Path | None = None
    backend: str | None = None  # None: mlx.launch's default (nccl with CUDA, else ring)

    @property
    def wanted(self) -> bool:
        """Whether any launch flag was given."""
        return bool(self.ranks is not None or self.hosts or self.hostfile)

    def check(self) -> None:
        """LaunchFailed when the flags contradict each other or cannot start a group."""
        given = [f for f, v in (("--ranks", self.ranks is not None), ("--hosts", self.hosts),
                                ("--hostfile", self.hostfile)) if v]
        if len(given) > 1:
            raise LaunchFailed(f"{' and '.join(given)} exclude each other",
                               hint="give one of them (list a host twice for two ranks there)")
        if self.ranks is not None and self.ranks < 2:
            raise LaunchFailed(f"--ranks {self.ranks}: a group needs at least 2 ranks",
                               hint="leave --ranks out to run in one process")
        if self.hosts and len(self.hosts) < 2:
            raise LaunchFailed("--hosts needs at least 2 hosts (one rank each)",
                               hint="list a host twice to start two ranks there")
        if self.backend is not None and self.backend not in DISTRIBUTED_BACKENDS:
            raise LaunchFailed(f"Unknown distributed backend '{self.backend}'",
                               hint="use one of " + ", ".join(DISTRIBUTED_BACKENDS))
        if self.hostfile is not None and not self.hostfile.is_file():
            raise LaunchFailed(f"No hostfile at {self.hostfile}",
                               hint="see README 'Beyond one machine' for its format")


def resolve_hosts(
    hosts: Sequence[str], resolve: Callable[[str], str] = socket.gethostbyname
) -> list[dict[str, Any]]:
    """A hostfile's ``hosts`` for ``hosts``: each ssh name with the address ranks connect to
    (a name of this machine's loopback becomes 127.0.0.1, which needs no ssh)."""
    entries = []
    for host in hosts:
        try:
            address = resolve(host)
        except OSError as exc:
            raise LaunchFailed(f"Host '{host}' cannot be resolved: {exc}",
                               hint="check the name, or give its IP address") from None
        if address.startswith("127."):  # this machine: started without ssh
            host = address = LOCAL
        entries.append({"ssh": host, "ips": [address]})
    return entries


def hostfile_hosts(path: Path) -> list[str]:
    """The ssh names a hostfile lists (a list of hosts, or ``{"hosts": [...]}``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        hosts = data["hosts"] if isinstance(data, dict) else data
        return [str(h["ssh"]) for h in hosts]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LaunchFailed(f"Cannot read the hostfile {path}: {exc}",
                           hint="see README 'Beyond one machine' for its format") from None


def launcher_argv(
    plan: LaunchPlan, command: Sequence[str], *, launcher: Sequence[str],
    hostfile: Path | None = None,
) -> list[str]:
    """``mlx.launch`` running ``command`` on every rank; ``hostfile``: the resolved hosts."""
    argv = list(launcher)
    if plan.backend:
        argv += ["--backend", plan.backend]
    if plan.ranks is not None:
        argv += ["--hosts", LOCAL, "-n", str(plan.ranks)]
    else:
        source = hostfile or plan.hostfile
        assert source is not None, "hosts are launched through a hostfile"
        argv += ["--hostfile", str(source)]
    return [*argv, "--env", f"{LAUNCHED_ENV}=1", "--", *command]
