"""Rank 0's MLX thread: each operation goes to the other ranks, then to rank 0's own shard.

Every MLX call of rank 0 runs on this one thread (MLX streams are thread-local), so the engine
thread never waits inside a collective: it waits on this thread, with a deadline. A rank that
dies makes the ring's collectives fail at once ("connection to a peer was lost"); one that stops
answering makes them wait for ever (ml-explore/mlx#4475). Either way the group is marked broken
(past the deadline, for the second) and every later call fails at once with GroupBroken, while a
stuck thread stays stuck (a daemon: the entry point ends the process with ``os._exit``). While
idle the thread sends a ping every ``heartbeat`` seconds: a rank that stopped answering shows
between requests too (``broken``), and the other ranks know rank 0 is alive.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mlxk_core.backends.mlx_group import Channel
from mlxk_core.backends.mlx_replica import Replica
from mlxk_core.distributed.protocol import Load, Op, Ping, Stop, encode_op
from mlxk_core.errors import GroupBroken, ShardingRefused

__all__ = ["Driver"]

_SLICE = 0.1  # how often a waiting call looks at its deadline


@dataclass(eq=False)
class _Job:
    op: Op
    limit: float
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


def _name(op: Op) -> str:
    return type(op).__name__.lower()


class Driver:
    """Runs rank 0's side of every operation on one thread; ``call`` from any thread."""

    def __init__(
        self, channel: Channel, replica: Replica, *, timeout: float, load_timeout: float,
        heartbeat: float = 1.0,
    ) -> None:
        """``timeout``: the longest one operation may take (``load_timeout`` for loading)."""
        self.channel = channel
        self._replica = replica
        self.timeout = timeout
        self.load_timeout = load_timeout
        self._heartbeat = heartbeat
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._broken: str | None = None
        self._current: _Job | None = None
        self._since = 0.0
        self._hurry_until = float("inf")
        self._thread = threading.Thread(target=self._run, name="mlxk-rank0", daemon=True)

    @property
    def started(self) -> bool:
        """Whether the thread was started."""
        return self._thread.ident is not None

    def start(self) -> Driver:
        """Start the thread (once)."""
        if not self.started:
            self._thread.start()
        return self

    @property
    def broken(self) -> str | None:
        """Why the group can no longer run (a rank left, or stopped answering), or None."""
        with self._lock:
            job = self._current
            if self._broken is None and job is not None:
                waited = time.monotonic() - self._since
                if waited > job.limit:
                    self._broken = (
                        f"the other ranks stopped answering ({_name(job.op)} has waited "
                        f"{waited:.0f} s)"
                    )
            return self._broken

    def call(self, op: Op, *, timeout: float | None = None) -> Any:
        """Apply ``op`` on every rank; what rank 0's shard returned. GroupBroken when the group
        is broken, or breaks now (an error, or no answer within the deadline)."""
        reason = self.broken
        if reason is not None:
            raise GroupBroken(reason)
        limit = timeout or (self.load_timeout if isinstance(op, Load) else self.timeout)
        job = _Job(op, limit)
        self._jobs.put(job)
        asked = time.monotonic()
        deadline = asked + limit + self._heartbeat + 1.0  # it may queue behind a ping
        while not job.done.wait(_SLICE):
            if time.monotonic() > min(deadline, self._hurry_until):
                raise GroupBroken(self._break(
                    f"the other ranks stopped answering ({_name(op)} waited "
                    f"{time.monotonic() - asked:.0f} s)"
                ))
        if job.error is not None:
            raise job.error
        return job.result

    def hurry(self, seconds: float = 2.0) -> None:
        """The process is stopping: no call waits more than ``seconds`` from now (a rank that
        died inside a forward pass can leave one waiting until its deadline otherwise)."""
        self._hurry_until = min(self._hurry_until, time.monotonic() + seconds)

    def close(self, timeout: float = 3.0) -> bool:
        """Tell the other ranks to leave; whether this thread ended (False: stuck for good)."""
        if not self.started:
            return True
        if self.broken is None and self._thread.is_alive():
            job = _Job(Stop(), timeout)
            self._jobs.put(job)
            job.done.wait(timeout)
        self._thread.join(timeout if self._broken is None else 0.1)
        return not self._thread.is_alive()

    def _break(self, reason: str) -> str:
        with self._lock:
            if self._broken is None:
                self._broken = reason
            return self._broken

    def _run(self) -> None:
        try:
            while self._broken is None:
                try:
                    job = self._jobs.get(timeout=self._heartbeat)
                except queue.Empty:
                    job = _Job(Ping(), self.timeout)
                with self._lock:
                    self._current, self._since = job, time.monotonic()
                try:
                    self.channel.send(encode_op(job.op))
                    job.result = self._replica.apply(job.op)
                except ShardingRefused as exc:  # every rank read the same roll call
                    job.error = exc
                except Exception as exc:
                    job.error = GroupBroken(self._break(
                        f"rank 0 lost the group during {_name(job.op)} ({exc})"
                    ))
                finally:
                    with self._lock:
                        self._current = None
                    job.done.set()
                if isinstance(job.op, Stop):
                    self._break("the group was closed")
        finally:
            self._fail_waiting()
            self._replica.drop()  # on this thread: MLX objects die where they were made
            from mlxk_core.backends.mlx import release_thread

            release_thread()

    def _fail_waiting(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            job.error = GroupBroken(self._broken or "the group was closed")
            job.done.set()
