"""Facts about the run that the report states: machine, versions, the BLAS on each side.

Nothing here imports mlx: the BLAS facts come from short subprocesses, so the process that
runs the benchmarks keeps a clean slate.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["blas_facts", "machine", "mlxk_blas", "versions"]

PACKAGES = ("mlx", "mlx-lm", "mlxk", "huggingface_hub", "transformers")
_MLXK_BLAS = (
    "import json; from dataclasses import asdict; "
    "from mlxk_core.backends.blas import ensure_blas; from mlxk_core.settings import Settings; "
    "print(json.dumps(asdict(ensure_blas(Settings.from_env().blas))))"
)
_PROVIDER = (
    "import mlx.core; from mlxk_core.backends.blas import blas_provider; print(blas_provider())"
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, platform, accelerator and the load average now."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "platform": f"{platform.system()} {platform.machine()}",
        "accelerator": "no GPU (MLX on the CPU)",
        "load_start": os.getloadavg()[0],
    }


def versions() -> dict[str, str]:
    """Python and the installed versions of the packages the figures depend on."""
    found = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _python(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=True)
    return done.stdout.strip().splitlines()[-1]


def mlxk_blas() -> dict[str, Any]:
    """The BLAS mlxk loads in a fresh process (``BlasInfo`` as a dict)."""
    info: dict[str, Any] = json.loads(_python(_MLXK_BLAS))
    return info


def _reference_blas() -> str:
    spec = importlib.util.find_spec("mlx")
    where = Path(next(iter(spec.submodule_search_locations or []))) if spec else None
    bundled = sorted((where.parent / "mlx_cpu.libs").glob("libblas*")) if where else []
    return f"MLX's bundled reference BLAS ({bundled[0].name})" if bundled else "MLX's own BLAS"


def blas_facts(info: dict[str, Any]) -> dict[str, str | None]:
    """Which BLAS each side runs (``info``: mlxk's); checks that ``LD_PRELOAD`` of mlxk's
    library makes MLX use it, as the same-BLAS peers are run."""
    preload = info["path"] if info["optimized"] else None
    check = "no preload"
    if preload:
        env = {**os.environ, "LD_PRELOAD": preload}
        provider = _python(_PROVIDER, env)
        check = ("checked: MLX's cblas_sgemm resolves to it" if provider == preload
                 else f"NOT in effect: cblas_sgemm resolves to {provider}")
    return {
        "mlxk": f"{info['kind']} ({info['path'] or info['detail']})",
        "reference": _reference_blas(),
        "preload": preload,
        "preload_check": check,
    }
