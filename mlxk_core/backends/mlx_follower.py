"""A rank other than 0: no server, no engine; it applies rank 0's operations until told to stop.

The operations run on a thread of their own (it may block inside a collective), while the
caller's thread watches: if an operation, or the wait for the next one, takes longer than its
deadline (rank 0 pings every second while idle), or the launcher that started this process is
gone, :meth:`Follower.run` returns at once with the reason, and the caller ends the process.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

from mlxk_core.backends.mlx_group import Channel
from mlxk_core.backends.mlx_replica import Replica
from mlxk_core.distributed.protocol import Load, Stop, decode_op
from mlxk_core.errors import ShardingRefused

__all__ = ["Follower"]

_POLL = 0.2


class Follower:
    """Follows rank 0: ``run()`` blocks until rank 0 says stop or something goes wrong."""

    def __init__(
        self, channel: Channel, replica: Replica, *, timeout: float, load_timeout: float,
        heartbeat: float = 1.0,
    ) -> None:
        self._channel = channel
        self._replica = replica
        self._timeout = timeout
        self._load_timeout = load_timeout
        self._heartbeat = heartbeat
        self._lock = threading.Lock()
        self._doing = "waiting for rank 0"
        self._limit = heartbeat + timeout
        self._since = time.monotonic()
        self._result: tuple[int, str | None] = (1, "the follower ended early")

    def run(self) -> tuple[int, str | None]:
        """``(exit code, reason)``: 0 when rank 0 said stop; 1 and why, otherwise. A thread may
        be left stuck in a collective: end the process soon after."""
        parent = os.getppid()
        worker = threading.Thread(target=self._loop, name="mlxk-follower", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(_POLL)
            if os.getppid() != parent:
                return 1, "the launcher that started this rank is gone"
            with self._lock:
                doing, waited, limit = self._doing, time.monotonic() - self._since, self._limit
            if waited > limit and worker.is_alive():
                return 1, f"rank 0 stopped answering ({doing} for {waited:.0f} s)"
        return self._result

    def _mark(self, doing: str, limit: float) -> None:
        with self._lock:
            self._doing, self._limit, self._since = doing, limit, time.monotonic()

    def _loop(self) -> None:
        try:
            while True:
                self._mark("waiting for rank 0", self._heartbeat + self._timeout)
                op = decode_op(self._channel.receive())
                limit = self._load_timeout if isinstance(op, Load) else self._timeout
                self._mark(type(op).__name__.lower(), limit)
                # a refusal came from a roll call every rank read: rank 0 decides what is next
                with contextlib.suppress(ShardingRefused):
                    self._replica.apply(op)
                if isinstance(op, Stop):
                    self._result = (0, None)
                    return
        except Exception as exc:
            self._result = (1, f"{self._doing} failed: {exc}")
        finally:
            self._replica.drop()
            from mlxk_core.backends.mlx import release_thread

            release_thread()
