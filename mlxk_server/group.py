"""`mlxk serve` beyond one machine: start the ranks through mlx.launch, or be one of them.

Rank 0 serves HTTP with its one model (``--model``) sharded over the group; the other ranks run
no server and no engine: they follow rank 0's steps until it tells them to leave. This module
owns the process-level parts of that (signals, ``os._exit``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from mlxk_core import (
    DISTRIBUTED_BACKENDS,
    LAUNCHED_ENV,
    SHARDING_MODES,
    LaunchFailed,
    LaunchPlan,
    detect_group,
)
from mlxk_server.config import ServerSettings
from mlxk_server.signals import SIGNALS

if TYPE_CHECKING:
    from mlxk_core import BackendFactory, ShardGroup

__all__ = ["add_group_arguments", "in_group", "serve_group"]

Serve = Callable[..., int]
_STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def add_group_arguments(p: argparse.ArgumentParser) -> None:
    """The flags that shard the model over several processes or hosts."""
    p.add_argument("--ranks", type=int,
                   help="shard --model over N processes on this machine (mlx.launch)")
    p.add_argument("--hosts", help="shard --model over these hosts, one rank each: h1,h2 (ssh)")
    p.add_argument("--hostfile", help="shard --model over the hosts of an mlx.launch hostfile")
    p.add_argument("--backend", choices=DISTRIBUTED_BACKENDS,
                   help="distributed backend (default: mlx.launch's: nccl with CUDA, else ring)")
    p.add_argument("--sharding", choices=SHARDING_MODES, default="auto",
                   help="tensor or pipeline parallel (auto: tensor where the model has it)")
    p.add_argument("--rank-timeout", type=float, default=60.0,
                   help="seconds to wait for the other ranks, to join or for one step "
                   "(default 60); past it the server answers 503")


def _plan(args: argparse.Namespace) -> LaunchPlan:
    hosts = tuple(h.strip() for h in (args.hosts or "").split(",") if h.strip())
    hostfile = Path(args.hostfile) if args.hostfile else None
    return LaunchPlan(args.ranks, hosts, hostfile, args.backend)


def in_group(args: argparse.Namespace) -> bool:
    """Whether this server is (or starts) a sharded group."""
    return _plan(args).wanted or detect_group(os.environ) is not None


def serve_group(
    settings: ServerSettings, args: argparse.Namespace, argv: Sequence[str], serve: Serve
) -> int:
    """Start the ranks with these flags; or, launched, join: rank 0 serves through ``serve``
    (``serve(settings, backend=, group=)``), the others follow and exit."""
    if not settings.preload:
        raise LaunchFailed("Sharded serving needs its model up front",
                           hint="add --model org/name")
    env = detect_group(os.environ)
    if env is None:
        return _launch(_plan(args), argv)
    from mlxk_core import ShardGroup, backend_factory

    # MLX starts threads while joining; they must not take the SIGINT/SIGTERM that rank 0's
    # SignalWatch waits for (their disposition stays the default, which ends the process)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    group = ShardGroup.join(env, settings.core, timeout=args.rank_timeout)
    if group.rank > 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        _follow(group)
    conf = dataclasses.replace(
        settings, models=settings.models or (settings.preload,), max_loaded_models=1
    )
    backend: BackendFactory = backend_factory(
        conf.core, dtype=conf.dtype, dequantize=conf.dequantize, group=group,
        sharding=args.sharding,
    )
    code = 1
    try:
        code = serve(conf, backend=backend, group=group)
    finally:
        if not group.close():  # a thread is stuck in a collective: it cannot exit normally
            sys.stderr.flush()
            os._exit(code)
    return code


def _launch(plan: LaunchPlan, argv: Sequence[str]) -> int:
    """Start every rank running ``mlxk serve argv``; a signal stops the whole group."""
    from mlxk_core import start_group

    if os.environ.get(LAUNCHED_ENV) == "1":
        raise LaunchFailed("This rank was started by mlxk but found no group to join",
                           hint="check that mlx.launch runs here (`mlxk doctor`)")

    def to_stderr(data: bytes) -> None:
        sys.stderr.buffer.write(data)
        sys.stderr.buffer.flush()

    group = start_group(plan, ["serve", *argv], on_stderr=to_stderr)
    received: list[int] = []

    def stop(sig: int, _frame: object) -> None:
        received.append(sig)
        group.stop()

    for sig in _STOPPING:
        signal.signal(sig, stop)
    code = group.wait()
    return 128 + received[0] if received else code


def _follow(group: ShardGroup) -> NoReturn:
    """A rank other than 0: follow rank 0 until it says stop, then end the process."""
    for sig in _STOPPING:
        signal.signal(sig, lambda *_: os._exit(0))
    code, why = group.follow()
    if why:
        sys.stderr.write(f"mlxk serve: rank {group.rank}: {why}\n")
        sys.stderr.flush()
    os._exit(code)
