"""Whether this process is a rank of a distributed group, read from what the launcher set.

``mlx.launch`` (and ``mpirun``) start every rank with the same command line and tell each one
its place through environment variables: the ring backend gets ``MLX_HOSTFILE`` and
``MLX_RANK``, JACCL ``MLX_JACCL_COORDINATOR``, NCCL ``NCCL_HOST_IP`` and ``MLX_WORLD_SIZE``,
MPI its own ``OMPI_*`` / ``PMI_*`` variables. The adapters pass ``os.environ`` in. A ring
launch on a single host (an empty hostfile) is no group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DISTRIBUTED_BACKENDS", "LAUNCHED_ENV", "GroupEnv", "detect_group"]

DISTRIBUTED_BACKENDS = ("ring", "mpi", "jaccl", "nccl")
"""The distributed backends of ``mlx.core.distributed`` that mlxk knows how to join."""

LAUNCHED_ENV = "MLXK_LAUNCHED"
"""Set by mlxk's own launcher (``--ranks`` / ``--hosts``) in every rank: never launch again."""

_MPI_RANKS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")


@dataclass(frozen=True)
class GroupEnv:
    """This process's place in a launched group: the backend to join and its rank."""

    backend: str
    rank: int
    launched_by_mlxk: bool = False


def _rank(value: str | None) -> int:
    try:
        return max(0, int(value or "0"))
    except ValueError:
        return 0


def _blank(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            return not fh.read(64).strip()
    except OSError:
        return False


def detect_group(environ: Mapping[str, str]) -> GroupEnv | None:
    """The group this process was launched into, or None when it runs on its own."""
    ours = environ.get(LAUNCHED_ENV) == "1"
    if environ.get("MLX_JACCL_COORDINATOR") or environ.get("MLX_IBV_DEVICES"):
        return GroupEnv("jaccl", _rank(environ.get("MLX_RANK")), ours)
    if environ.get("NCCL_HOST_IP") and environ.get("MLX_WORLD_SIZE"):
        return GroupEnv("nccl", _rank(environ.get("MLX_RANK")), ours)
    if environ.get("MLX_HOSTFILE") and "MLX_RANK" in environ:
        if _blank(environ["MLX_HOSTFILE"]):  # mlx.launch on one host: a group of one
            return None
        return GroupEnv("ring", _rank(environ.get("MLX_RANK")), ours)
    for name in _MPI_RANKS:
        if name in environ:
            return GroupEnv("mpi", _rank(environ.get(name)), ours)
    return None
