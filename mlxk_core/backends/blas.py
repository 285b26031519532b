"""Put an optimized BLAS under MLX's CPU backend (Linux), before ``mlx`` is first imported.

The ``mlx[cpu]`` wheel bundles the reference BLAS; ``libmlx.so`` takes ``cblas_sgemm`` from the
process's global symbol scope, so a BLAS loaded with ``RTLD_GLOBAL`` first serves every dense
float32 matmul (~30x faster here). This module only uses ctypes: it never imports mlx.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["BlasInfo", "BLAS_HINT", "blas_hint_once", "blas_provider", "ensure_blas"]

BlasKind = Literal["openblas", "mkl", "custom", "reference", "accelerate", "disabled"]

BLAS_HINT = (
    "MLX is using its bundled reference BLAS, which makes CPU inference much slower: "
    "install OpenBLAS (`apt install libopenblas0-pthread`), or MKL without root "
    "(`pip install 'mlxk[mkl]'`), or point MLXK_BLAS at a CBLAS library"
)

_CANDIDATES: tuple[str, ...] = ("openblas", "mkl_rt")


@dataclass(frozen=True)
class BlasInfo:
    """Which BLAS serves MLX's dense CPU matmuls, and where it came from."""

    kind: BlasKind
    path: str | None
    optimized: bool
    detail: str = ""


_lock = threading.Lock()
_result: BlasInfo | None = None
_hinted = False


class _DlInfo(ctypes.Structure):
    _fields_ = [
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


def blas_provider() -> str | None:
    """The file that ``cblas_sgemm`` resolves to in the global scope, or None if none does."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        process = ctypes.CDLL(None)
        address = ctypes.cast(process.cblas_sgemm, ctypes.c_void_p).value
    except (AttributeError, OSError):
        return None
    info = _DlInfo()
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    if not address or not libc.dladdr(ctypes.c_void_p(address), ctypes.byref(info)):
        return None
    return info.dli_fname.decode() if info.dli_fname else None


def _kind_of(path: str) -> BlasKind:
    name = Path(path).name.lower()
    if "openblas" in name:
        return "openblas"
    if "mkl" in name:
        return "mkl"
    return "custom"


def _candidates(setting: str | None) -> list[str]:
    """MLXK_BLAS alone when set; else the system's OpenBLAS/MKL, then MKL from the ``mkl`` wheel."""
    if setting:
        return [setting]
    found = [ctypes.util.find_library(lib) for lib in _CANDIDATES]
    wheel_mkl = sorted(Path(sys.prefix, "lib").glob("libmkl_rt.so*"))
    return [path for path in found if path] + [str(path) for path in wheel_mkl[:1]]


def _load(setting: str | None) -> BlasInfo:
    if sys.platform == "darwin":
        return BlasInfo("accelerate", None, True, "MLX uses Accelerate and Metal on macOS")
    if (setting or "").lower() == "none":
        return BlasInfo("reference", None, False, "disabled by MLXK_BLAS=none")
    if "mlx.core" in sys.modules:
        provider = blas_provider()
        if provider:
            return BlasInfo(_kind_of(provider), provider, True, "loaded before mlx")
        return BlasInfo("reference", None, False, "mlx was imported before a BLAS could be loaded")
    errors: list[str] = []
    for path in _candidates(setting):
        if setting and not os.path.exists(path) and "/" in path:
            errors.append(f"{path}: no such file")
            continue
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:
            errors.append(f"{path}: {exc}")
            continue
        provider = blas_provider()
        if provider:
            return BlasInfo(_kind_of(provider), provider, True, "loaded")
        errors.append(f"{path}: exports no cblas_sgemm")
    detail = "; ".join(errors) if errors else "no OpenBLAS or MKL found"
    return BlasInfo("reference", None, False, detail)


def ensure_blas(setting: str | None) -> BlasInfo:
    """Load the best BLAS once per process (``setting``: a path, ``none``, or None for auto)."""
    global _result
    with _lock:
        if _result is None:
            _result = _load(setting)
        return _result


def blas_hint_once(info: BlasInfo) -> str | None:
    """:data:`BLAS_HINT` the first time it is asked for in this process, if ``info`` is slow."""
    global _hinted
    with _lock:
        if info.optimized or _hinted:
            return None
        _hinted = True
        return BLAS_HINT
