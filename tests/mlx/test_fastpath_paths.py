"""Every weight layout answers the same: dense float32, quantized with float32 activations, and
the model as stored; `mlxk run` reports its BLAS, and without a fast one still works and hints
once how to get it."""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlxk_core.backends.cpu_fastpath import DeviceKind, Layout
from mlxk_core.backends.mlx import MlxBackend
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.runner import Runner
from tests.factory import QA, build_model

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux CPU path")

PATHS: dict[str, tuple[DeviceKind | None, bool | None]] = {
    "dense float32": (None, True),
    "quantized, float32 activations": (None, False),
    "as stored": ("metal", None),  # the choice a GPU makes: nothing cast, nothing dense
}


def answer(repo_id: str, device: DeviceKind | None, dequantize: bool | None) -> tuple[str, Layout]:
    backend = MlxBackend(device=device, dequantize=dequantize)
    request = GenerationRequest.chat(QA.FRANCE.turns, max_tokens=40, temperature=0.0)
    with Runner(repo_id, backend=backend) as runner:
        text = runner.generate(request).text
        assert backend.layout is not None
        return text, backend.layout


@pytest.mark.parametrize("variant", ["chat-8bit", "chat-4bit-fp16"])
def test_greedy_answer_is_the_same_on_every_path(variant: str, hf_cache: Path) -> None:
    repo_id = build_model(variant, hf_cache)
    seen = {name: answer(repo_id, device, deq) for name, (device, deq) in PATHS.items()}
    assert {text for text, _ in seen.values()} == {QA.FRANCE.answer}
    layouts = {name: (lay.compute_dtype, lay.dequantize) for name, (_, lay) in seen.items()}
    assert layouts == {
        "dense float32": ("float32", True),
        "quantized, float32 activations": ("float32", False),
        "as stored": (None, False),
    }


def mlxk_run(hf_cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlxk_cli", "run", *args],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "HF_HUB_CACHE": str(hf_cache), **env},
    )


def test_run_verbose_reports_the_fast_blas_and_dense_weights(hf_cache: Path) -> None:
    repo_id = build_model("chat-8bit", hf_cache)
    out = mlxk_run(hf_cache, repo_id, QA.FRANCE.question, "--temperature", "0", "--verbose")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == QA.FRANCE.answer
    if ctypes.util.find_library("openblas"):
        assert "BLAS: openblas" in out.stderr
        assert "dense float32 weights through openblas" in out.stderr
        assert "libopenblas0" not in out.stderr


def test_without_a_fast_blas_it_still_answers_and_hints_once(hf_cache: Path) -> None:
    repo_id = build_model("chat-8bit", hf_cache)
    chat = "\n".join([QA.FRANCE.question, "/clear", QA.FRANCE.question, "exit"]) + "\n"
    out = subprocess.run(
        [sys.executable, "-m", "mlxk_cli", "run", repo_id, "-i", "--temperature", "0",
         "--verbose"],
        input=chat, capture_output=True, text=True, timeout=120,
        env={**os.environ, "HF_HUB_CACHE": str(hf_cache), "MLXK_BLAS": "none"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count(QA.FRANCE.answer) == 2
    assert "BLAS: reference" in out.stderr
    assert "quantized weights: only the reference BLAS is available" in out.stderr
    assert out.stderr.count("libopenblas0") == 1


def test_unknown_dtype_is_one_clear_error(hf_cache: Path) -> None:
    repo_id = build_model("chat-8bit", hf_cache)
    out = mlxk_run(hf_cache, repo_id, "hi", "--dtype", "int3")
    assert out.returncode == 1
    assert "Unknown compute dtype 'int3'" in out.stderr
    assert "Traceback" not in out.stderr
