"""This process as a rank of a sharded group: join, compare versions, then lead or follow.

``ShardGroup.join`` is what ``mlxk run`` and ``mlxk serve`` call when a launcher started them.
Every rank joins and takes a roll call of versions (mlxk, mlx, mlx-lm must match). Rank 0 then
drives (:meth:`ShardGroup.start`): the engine gets its backends from
:func:`mlxk_core.backends.factory.backend_factory` with ``group=``. The other ranks call
:meth:`ShardGroup.follow` and exit with what it returns.
"""

from __future__ import annotations

import dataclasses
import socket
from importlib import metadata
from typing import Any

from mlxk_core.backends.blas import ensure_blas
from mlxk_core.backends.mlx_driver import Driver
from mlxk_core.backends.mlx_follower import Follower
from mlxk_core.backends.mlx_group import join_group
from mlxk_core.backends.mlx_replica import Replica
from mlxk_core.backends.mlx_sharded import ShardedBackend
from mlxk_core.cache.records import ResolvedModel
from mlxk_core.distributed.checks import RankInfo, version_problem
from mlxk_core.distributed.env import GroupEnv
from mlxk_core.distributed.protocol import Stop, encode_op
from mlxk_core.errors import ShardingRefused
from mlxk_core.settings import Settings
from mlxk_core.version import __version__

__all__ = ["LOAD_TIMEOUT_FACTOR", "ShardGroup"]

LOAD_TIMEOUT_FACTOR = 20
"""Loading a shard may take this many times the rank timeout (reading weights is slow)."""


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


class ShardGroup:
    """This rank's membership: ``rank``, ``size``, ``hosts``; rank 0 drives, the rest follow."""

    def __init__(self, env: GroupEnv, replica: Replica, infos: list[RankInfo], *,
                 timeout: float) -> None:
        self.env = env
        self.replica = replica
        self.hosts = tuple(info.host for info in infos)
        self.timeout = timeout
        self.load_timeout = timeout * LOAD_TIMEOUT_FACTOR
        self._channel = replica.channel
        self._driver: Driver | None = None
        self._backend: ShardedBackend | None = None

    @property
    def rank(self) -> int:
        """This process's rank (0 leads)."""
        return self._channel.rank

    @property
    def size(self) -> int:
        """How many ranks the group has."""
        return self._channel.size

    @classmethod
    def join(cls, env: GroupEnv, settings: Settings, *, timeout: float = 60.0) -> ShardGroup:
        """Join the launched group (waiting at most ``timeout`` s for the others) and compare
        versions; ShardingRefused on rank 0 when they differ (the others then get Stop)."""
        blas = ensure_blas(settings.blas)  # before mlx is first imported
        channel = join_group(env, timeout=timeout)
        host = socket.gethostname()
        mine = RankInfo(channel.rank, host, __version__, _version("mlx"), _version("mlx-lm"))
        infos = [RankInfo(**doc) for doc in channel.roll_call(dataclasses.asdict(mine))]
        replica = Replica(channel, settings=settings, host=host, blas=blas)
        group = cls(env, replica, infos, timeout=timeout)
        problem = version_problem(infos)
        if channel.rank == 0:
            group._driver = Driver(channel, replica, timeout=timeout,
                                   load_timeout=group.load_timeout)
            if problem is not None:
                group.close()
                raise ShardingRefused(f"The ranks cannot work together: {problem}")
        return group

    def start(self) -> None:
        """Rank 0: start driving (its thread; start it after blocking signals, if at all)."""
        if self._driver is not None:
            self._driver.start()

    def backend_for(
        self, model: ResolvedModel, *, mode: str = "auto", dtype: str | None = None,
        dequantize: bool | None = None, tool_parser: str | None = None,
    ) -> ShardedBackend:
        """Rank 0: the backend of ``model`` sharded over this group."""
        assert self._driver is not None, "only rank 0 drives the group"
        self._backend = ShardedBackend(self._driver, model, mode=mode, dtype=dtype,
                                       dequantize=dequantize, tool_parser=tool_parser)
        return self._backend

    def follow(self) -> tuple[int, str | None]:
        """The other ranks: apply rank 0's operations until it says stop; ``(exit code, why)``.
        A thread may be left stuck in a collective: end the process right after."""
        follower = Follower(self._channel, self.replica, timeout=self.timeout,
                            load_timeout=self.load_timeout)
        return follower.run()

    @property
    def broken(self) -> str | None:
        """Rank 0: why the group can no longer generate, or None."""
        return self._driver.broken if self._driver is not None else None

    def describe(self) -> dict[str, Any]:
        """The group as ``/health`` shows it: backend, ranks and hosts, status, memory."""
        broken = self.broken
        held = self._backend if self._backend is not None and self._backend.loaded else None
        return {
            "backend": self.env.backend, "size": self.size, "hosts": list(self.hosts),
            "status": "broken" if broken else "ok", "problem": broken,
            "mode": held.mode if held is not None else None,
            "ranks": [dict(r) for r in held.ranks] if held is not None else [],
        }

    def hurry(self, seconds: float = 2.0) -> None:
        """Rank 0 is stopping: nothing waits on the other ranks more than ``seconds`` now."""
        if self._driver is not None:
            self._driver.hurry(seconds)

    def close(self, timeout: float = 3.0) -> bool:
        """Rank 0: tell the other ranks to leave; False when a thread is stuck in a collective
        (end the process with ``os._exit``)."""
        if self._driver is None:
            return True
        if not self._driver.started:  # the others wait for a first operation: say stop
            self._channel.send(encode_op(Stop()))
            return True
        return self._driver.close(timeout)
