"""`mlxk run` beyond one machine: start the ranks through mlx.launch, or be one of them.

``--ranks`` / ``--hosts`` / ``--hostfile`` start every rank with this same command line; each
rank finds itself in the environment the launcher set, joins the group, and rank 0 generates
while the others follow it. This module owns the process-level parts (signals, ``os._exit``).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from mlxk_cli.errors import EXIT_INTERRUPTED
from mlxk_core import LAUNCHED_ENV, LaunchFailed, LaunchPlan, Settings, detect_group

if TYPE_CHECKING:
    from mlxk_core import ShardGroup

_STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _to_stderr(data: bytes) -> None:
    sys.stderr.buffer.write(data)
    sys.stderr.buffer.flush()


def launch(
    plan: LaunchPlan, args: Sequence[str], *, inherit_stdin: bool = False,
    feed: bytes | None = None,
) -> int:
    """Start every rank running ``mlxk args``; wait; a signal stops the whole group."""
    from mlxk_core import start_group

    if os.environ.get(LAUNCHED_ENV) == "1":
        raise LaunchFailed("This rank was started by mlxk but found no group to join",
                           hint="check that mlx.launch runs here (`mlxk doctor`)")
    group = start_group(plan, args, on_stderr=_to_stderr, inherit_stdin=inherit_stdin,
                        feed=feed)
    received: list[int] = []

    def stop(sig: int, _frame: object) -> None:
        received.append(sig)
        group.stop()

    previous = {sig: signal.signal(sig, stop) for sig in _STOPPING}
    try:
        code = group.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        return EXIT_INTERRUPTED if received[0] == signal.SIGINT else 128 + received[0]
    return code


def plan_from(
    ranks: int | None, hosts: str | None, hostfile: str | None, backend: str | None,
    sharding: str,
) -> LaunchPlan:
    """The launch flags as a plan (checked when it is used); ``--sharding`` checked now."""
    from mlxk_core import SHARDING_MODES

    if sharding not in SHARDING_MODES:
        raise LaunchFailed(f"Unknown --sharding '{sharding}'",
                           hint="use " + ", ".join(SHARDING_MODES))
    names = tuple(h.strip() for h in (hosts or "").split(",") if h.strip())
    return LaunchPlan(ranks, names, Path(hostfile) if hostfile else None, backend)


def take_part(
    settings: Settings, plan: LaunchPlan, *, timeout: float, prompt: str | None,
    interactive: bool,
) -> ShardGroup | None:
    """Run alone (None); or start the ranks with this command line and exit with what they
    did; or, launched, join the group: rank 0 gets it back, the others follow and exit."""
    env = detect_group(os.environ)
    if env is None:
        if not plan.wanted:
            return None
        raise typer.Exit(_launch_run(plan, sys.argv[1:], prompt=prompt, interactive=interactive))
    from mlxk_core import ShardGroup

    group = ShardGroup.join(env, settings, timeout=timeout)
    if group.rank > 0:
        follow(group)
    lead(group)
    return group


def _launch_run(plan: LaunchPlan, args: list[str], *, prompt: str | None,
                interactive: bool) -> int:
    """Start ``mlxk run`` on every rank. mlx.launch pipes its stdin to the ranks but never
    passes the end of input on: a piped prompt goes on the command line instead, a piped chat
    ends with ``exit``, and a chat at a terminal is read line by line (leave it with exit)."""
    if sys.stdin.isatty() and prompt is None:
        if not {"-i", "--interactive"} & set(args):
            args.append("--interactive")
        return launch(plan, args, inherit_stdin=True)
    if interactive:
        return launch(plan, args, feed=sys.stdin.buffer.read() + b"\nexit\n")
    if prompt is None or prompt == "-":
        text = sys.stdin.read()
        text = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
        args = [a for a in args if a != "-"] + ["--", text]
    return launch(plan, args)


def follow(group: ShardGroup) -> NoReturn:
    """A rank other than 0: follow rank 0 until it says stop, then end the process."""
    for sig in _STOPPING:
        signal.signal(sig, lambda *_: os._exit(0))
    code, why = group.follow()
    if why:
        _to_stderr(f"mlxk: rank {group.rank}: {why}\n".encode())
    os._exit(code)


def lead(group: ShardGroup) -> None:
    """Rank 0: drive the group; SIGTERM (from the launcher, or sent here when the launcher is
    gone) stops it as Ctrl-C does, without waiting long on the others, who are told to leave."""
    from mlxk_core import watch_parent

    def interrupt(_sig: int, _frame: object) -> None:
        group.hurry()  # leaving for good: a rank that died mid-step must not hold the way out
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    watch_parent(lambda: os.kill(os.getpid(), signal.SIGTERM))
    group.start()


def settle(group: ShardGroup, code: int) -> None:
    """Rank 0 at the end: tell the others to leave; if a thread is stuck in a collective
    (a rank stopped answering), end the process now, as it could not exit normally."""
    if not group.close():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 1)


def describe_ranks(backend: object) -> list[str]:
    """One line per rank of a sharded backend: host, weights held, peak while loading."""
    from mlxk_cli.output import human_size

    ranks = getattr(backend, "ranks", ())
    return [
        f"rank {r['rank']} ({r['host']}): {human_size(r['weights'])} in use, "
        f"peak {human_size(r['peak'])} while loading"
        for r in ranks
    ]
