"""The optimized BLAS is loaded under MLX before mlx is imported, or its absence is reported."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux CPU path")

PROBE = """
import json, sys
from mlxk_core.backends.blas import ensure_blas, blas_provider
setting = sys.argv[1] if len(sys.argv) > 1 else None
if setting == "mlx-first":
    import mlx.core
    setting = None
info = ensure_blas(setting)
import mlx.core as mx
a = mx.ones((64, 64))
mx.eval(a @ a)
print(json.dumps({"kind": info.kind, "optimized": info.optimized, "path": info.path,
                  "detail": info.detail, "provider": blas_provider()}))
"""


def probe(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_auto_loads_openblas_when_installed_and_mlx_uses_it() -> None:
    info = probe()
    if ctypes.util.find_library("openblas") or ctypes.util.find_library("mkl_rt"):
        assert info["optimized"] is True
        assert info["kind"] in ("openblas", "mkl")
        assert info["provider"] == info["path"]
    else:
        assert info["kind"] == "reference"
        assert "no OpenBLAS or MKL" in str(info["detail"])


def test_none_opts_out() -> None:
    info = probe("none")
    assert info == {
        "kind": "reference",
        "optimized": False,
        "path": None,
        "detail": "disabled by MLXK_BLAS=none",
        "provider": None,
    }


def test_missing_explicit_path_is_reported() -> None:
    info = probe("/nonexistent/libblas.so")
    assert info["kind"] == "reference"
    assert "/nonexistent/libblas.so" in str(info["detail"])


def test_mlx_imported_first_is_detected() -> None:
    info = probe("mlx-first")
    assert info["kind"] == "reference"
    assert "imported before" in str(info["detail"])


WHEEL_PROBE = """
import ctypes.util, json, sys
prefix, real = sys.argv[1], sys.argv[2]
ctypes.util.find_library = lambda name: None
sys.prefix = prefix
from mlxk_core.backends.blas import ensure_blas
info = ensure_blas(None)
print(json.dumps({"kind": info.kind, "path": info.path, "optimized": info.optimized}))
"""


@pytest.mark.skipif(not ctypes.util.find_library("openblas"), reason="needs a CBLAS to stand in")
def test_mkl_from_the_wheel_is_found_in_the_environment_prefix(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    real = ctypes.util.find_library("openblas")
    folders = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")
    system = next(p for p in folders if os.path.exists(f"{p}/{real}"))
    (lib / "libmkl_rt.so.2").symlink_to(f"{system}/{real}")
    out = subprocess.run(
        [sys.executable, "-c", WHEEL_PROBE, str(tmp_path), real],
        capture_output=True, text=True, check=True,
    )
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info == {"kind": "mkl", "path": str(lib / "libmkl_rt.so.2"), "optimized": True}
