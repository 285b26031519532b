"""What mlxk runs on here: platform, MLX versions, device, BLAS, memory, the cache folder, and
the distributed backends that can shard a model over several processes or hosts."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from mlxk_core.backends.blas import BLAS_HINT, BlasInfo, ensure_blas
from mlxk_core.backends.cpu_fastpath import (
    DENSE_MEMORY_SHARE,
    DeviceKind,
    MemoryInfo,
    current_device,
    memory_info,
)
from mlxk_core.settings import Settings

__all__ = ["Diagnosis", "diagnose"]


@dataclass(frozen=True)
class Diagnosis:
    """A snapshot of the runtime mlxk would use; ``ok`` is False when MLX cannot run."""

    platform: str
    python: str
    mlx_version: str | None
    mlx_lm_version: str | None
    device: DeviceKind | None
    blas: BlasInfo
    memory: MemoryInfo
    cache_dir: Path
    fast_path: str
    problems: tuple[str, ...] = ()
    distributed: tuple[tuple[str, bool], ...] = ()  # (backend, available) for ring, mpi, ...
    launcher: str | None = None  # mlx.launch, which starts the ranks of a sharded model

    @property
    def ok(self) -> bool:
        """Whether MLX can run models here."""
        return self.device is not None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _fast_path(device: DeviceKind | None, blas: BlasInfo) -> str:
    if device is None:
        return "unavailable"
    if device != "cpu":
        return f"not needed on {device}: weights stay as stored"
    if not blas.optimized:
        return "partial: float32 compute, quantized weights (reference BLAS)"
    return (
        f"on: float32 compute, dense float32 weights through {blas.kind} when they fit in "
        f"{DENSE_MEMORY_SHARE:.0%} of available memory"
    )


def _distributed(device: DeviceKind | None) -> tuple[tuple[tuple[str, bool], ...], str | None]:
    """Which ``mlx.core.distributed`` backends MLX can start here, and the launcher."""
    if device is None:
        return (), None
    from mlxk_core.backends.mlx_group import available_backends
    from mlxk_core.distributed.launch import find_launcher
    from mlxk_core.errors import BackendUnavailable

    try:
        launcher: str | None = find_launcher()[0]
    except BackendUnavailable:
        launcher = None
    return tuple(available_backends().items()), launcher


def diagnose(settings: Settings) -> Diagnosis:
    """Inspect this machine the way the mlx backend will use it (loads the BLAS, imports mlx)."""
    blas = ensure_blas(settings.blas)
    problems: list[str] = []
    device: DeviceKind | None
    try:
        device = current_device()
    except Exception as exc:  # any failure to start MLX is a finding, not a crash
        device = None
        problems.append(f"MLX is not usable: {exc}")
    if device == "cpu" and not blas.optimized:
        problems.append(BLAS_HINT)
    distributed, launcher = _distributed(device)
    return Diagnosis(
        platform=f"{platform.system()} {platform.release()} {platform.machine()}",
        python=sys.version.split()[0],
        mlx_version=_version("mlx"),
        mlx_lm_version=_version("mlx-lm"),
        device=device,
        blas=blas,
        memory=memory_info(),
        cache_dir=settings.cache_dir,
        fast_path=_fast_path(device, blas),
        problems=tuple(problems),
        distributed=distributed,
        launcher=launcher,
    )
