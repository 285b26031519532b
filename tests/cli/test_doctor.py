"""`mlxk doctor`: device, BLAS, memory and versions, for people and as JSON (in a subprocess,
since the BLAS can only be chosen before the process first imports mlx)."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
from importlib import metadata
from typing import Any

import pytest

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux CPU path")


def doctor(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlxk_cli", "doctor", *args],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=120,
    )


def doctor_json(**env: str) -> dict[str, Any]:
    out = doctor("--json", **env)
    assert out.returncode == 0, out.stderr
    document: dict[str, Any] = json.loads(out.stdout)
    return document


@linux
def test_json_shape_reports_backend_device_blas_memory_and_cache(hf_cache: Any) -> None:
    doc = doctor_json()
    assert (doc["schema_version"], doc["command"], doc["error"]) == ("1", "doctor", None)
    data = doc["data"]
    assert set(data) == {
        "ok", "platform", "python", "backend", "device", "blas", "memory", "cache_dir",
        "fast_path", "distributed", "problems",
    }
    assert data["ok"] is True and data["device"] == "cpu"
    assert data["backend"] == {
        "name": "mlx", "mlx": metadata.version("mlx"), "mlx_lm": metadata.version("mlx-lm")
    }
    assert set(data["blas"]) == {"kind", "path", "optimized", "detail"}
    assert 0 < data["memory"]["available"] <= data["memory"]["total"]
    assert data["cache_dir"] == str(hf_cache)
    if ctypes.util.find_library("openblas"):
        assert data["blas"]["kind"] == "openblas" and data["blas"]["optimized"] is True
        assert data["fast_path"].startswith("on:")
        assert data["problems"] == []


@linux
def test_without_a_fast_blas_it_says_how_to_get_one() -> None:
    data = doctor_json(MLXK_BLAS="none")["data"]
    assert data["blas"] == {
        "kind": "reference", "path": None, "optimized": False,
        "detail": "disabled by MLXK_BLAS=none",
    }
    assert data["fast_path"].startswith("partial:")
    assert any("libopenblas0" in p for p in data["problems"])


@linux
def test_human_output_names_the_blas() -> None:
    out = doctor(MLXK_BLAS="none")
    assert out.returncode == 0, out.stderr
    assert "BLAS" in out.stdout and "reference" in out.stdout
    assert "mlx " + metadata.version("mlx") in out.stdout
    assert "libopenblas0" in out.stderr


def test_it_reports_the_distributed_backends_mlx_can_start() -> None:
    import mlx.core as mx

    data = doctor_json()["data"]
    names = ("ring", "mpi", "jaccl", "nccl")
    expected = {name: mx.distributed.is_available(name) for name in names}
    assert data["distributed"]["backends"] == expected
    launcher = data["distributed"]["launcher"]
    assert launcher is not None and launcher.endswith("mlx.launch")
    out = doctor()
    row = next(line for line in out.stdout.splitlines() if line.startswith("Distributed"))
    assert all(name in row for name, ok in expected.items() if ok)
