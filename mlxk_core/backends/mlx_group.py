"""Joining a distributed group and talking over it, with ``mlx.core.distributed`` alone.

Rank 0 sends each operation to the others as ``all_sum`` of a byte array (the others add
zeros), the way ``mlx_lm.server`` shares its work; a roll call is an ``all_gather`` of one small
JSON document per rank. ``mx.distributed.init`` holds the GIL and waits for ever for a rank
that never comes, so no thread can time it out: a watcher process kills this one, after saying
why, when the group has not formed in time. Part of the backend corner: ``mlx`` is imported
inside the functions.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from mlxk_core.distributed.env import DISTRIBUTED_BACKENDS, GroupEnv
from mlxk_core.distributed.protocol import FRAME, pack_head, unpack_head
from mlxk_core.errors import BackendUnavailable

__all__ = ["ROLL_CALL", "Channel", "available_backends", "forward_stream", "join_group"]

ROLL_CALL = 4096
"""Bytes of each rank's document in a roll call."""


def available_backends() -> dict[str, bool]:
    """Which distributed backends this MLX build can start (ring, mpi, jaccl, nccl)."""
    import mlx.core as mx

    return {name: bool(mx.distributed.is_available(name)) for name in DISTRIBUTED_BACKENDS}


def forward_stream() -> Any:
    """The stream a rank's forward passes run on: mlx-lm's generation stream (``generate_step``
    and ``BatchGenerator`` use it and look one token ahead asynchronously; the replica runs its
    prefill there too, so the model's collectives run in the order they are made)."""
    from mlx_lm.generate import generation_stream

    return generation_stream


class Channel:
    """The group as mlxk uses it: rank 0 sends, the others receive; everyone takes roll.

    A collective of mlxk's own first waits for the forward stream to drain, then runs on a
    stream of its own: so it can never reach the sockets between two of the forward pass's (in
    another order on each rank), and a rank that died shows as an error here. (On the forward
    stream itself, a collective queued behind one that failed waits for ever.)
    """

    def __init__(self, group: Any) -> None:
        import mlx.core as mx

        self.group = group
        self.rank = int(group.rank())
        self.size = int(group.size())
        self.forward = forward_stream()
        self._own = mx.new_thread_local_stream(mx.default_device())

    def send(self, data: bytes) -> None:
        """Rank 0: hand ``data`` to every other rank."""
        head = pack_head(data)
        self._sum(head)
        if len(data) > FRAME - 4:
            self._sum(data)

    def receive(self) -> bytes:
        """Another rank: the next ``data`` rank 0 sends (waits for it)."""
        length, inline = unpack_head(self._sum(bytes(FRAME)))
        return inline if inline is not None else self._sum(bytes(length))

    def roll_call(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        """Every rank's ``doc``, in rank order (each at most ROLL_CALL bytes of JSON)."""
        import mlx.core as mx
        import numpy as np

        raw = json.dumps(doc, separators=(",", ":")).encode()
        if len(raw) > ROLL_CALL:
            raise ValueError(f"a roll-call document is {len(raw)} bytes, over {ROLL_CALL}")
        mine = np.frombuffer(raw.ljust(ROLL_CALL, b"\0"), dtype=np.uint8)
        mx.synchronize(self.forward)
        every = mx.distributed.all_gather(mx.array(mine), group=self.group, stream=self._own)
        mx.eval(every)
        data = bytes(np.array(every, copy=False))
        parts = [data[i * ROLL_CALL:(i + 1) * ROLL_CALL].rstrip(b"\0") for i in range(self.size)]
        return [json.loads(part) for part in parts]

    def _sum(self, data: bytes) -> bytes:
        import mlx.core as mx
        import numpy as np

        mine = np.frombuffer(data if self.rank == 0 else bytes(len(data)), dtype=np.uint8)
        mx.synchronize(self.forward)
        total = mx.distributed.all_sum(mx.array(mine), group=self.group, stream=self._own)
        mx.eval(total)
        return bytes(np.array(total, copy=False))


def join_group(env: GroupEnv, *, timeout: float) -> Channel:
    """Join the group the launcher started this rank in; waits at most ``timeout`` seconds for
    the other ranks (then this process is killed, after a message on stderr)."""
    try:
        import mlx.core as mx
    except ImportError as exc:
        raise BackendUnavailable(f"MLX is not usable here: {exc}",
                                 hint="install mlx on every host") from exc
    if not mx.distributed.is_available(env.backend):
        raise BackendUnavailable(
            f"This MLX build has no '{env.backend}' distributed backend",
            hint="run `mlxk doctor` on each host to see the backends it has",
        )
    message = (
        f"mlxk: rank {env.rank}: the group did not form within {timeout:.0f} s (a rank that "
        "never started, a host that cannot be reached, or a port in use); giving up"
    )
    watcher = _watch(timeout, message)
    try:
        group = mx.distributed.init(strict=True, backend=env.backend)
    except RuntimeError as exc:
        raise BackendUnavailable(f"Could not join the '{env.backend}' group: {exc}",
                                 hint="start every rank through mlx.launch") from exc
    finally:
        watcher.kill()
        watcher.wait()
    return Channel(group)


def _watch(timeout: float, message: str) -> subprocess.Popen[bytes]:
    """A process that prints ``message`` and kills this one after ``timeout`` seconds (unless
    this one is gone by then: it checks that it is still our child, so a reused pid is safe)."""
    script = (
        'sleep "$1"; [ "$(ps -o ppid= -p $$ | tr -d " ")" = "$3" ] || exit 0; '
        'printf "%s\\n" "$2" >&2; kill -s KILL "$3"'
    )
    argv = ["/bin/sh", "-c", script, "sh", f"{timeout:.0f}", message, str(os.getpid())]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL)
