"""CLI test helpers: file-only repos in the isolated cache, and an in-process `mlxk` runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mlxk_cli.app import app
from mlxk_core.cache.store import store_snapshot
from tests.factory import variants as v


class Repos:
    """Builds repos (real hub layout, tests.factory.variants) in the test's isolated cache."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache

    def mlx(self, repo_id: str = "mlx-community/Tiny-4bit") -> Path:
        """A healthy 4-bit MLX chat model with an 8K context."""
        return v.make_mlx_model(self.cache, repo_id)

    def pytorch(self, repo_id: str = "meta/Tiny-HF") -> Path:
        """A plain Hugging Face (PyTorch-format safetensors) model."""
        return v.make_pytorch_only(self.cache, repo_id)

    def gguf(self, repo_id: str = "bartowski/Tiny-GGUF") -> Path:
        """A GGUF-only repo with Q4_K_M, Q8_0 and F16 variants."""
        return v.make_gguf_only(self.cache, repo_id)

    def lfs_pointer(self, repo_id: str = "mlx-community/Broken-4bit") -> Path:
        """An MLX model whose weights are a Git LFS pointer (unhealthy)."""
        return v.make_lfs_pointer(self.cache, repo_id)

    def two_revisions(self, repo_id: str = "mlx-community/Tiny-4bit") -> tuple[Path, Path]:
        """(old, new) snapshots sharing the weights blob; the old one also has a README."""
        new = v.make_two_revisions(self.cache, repo_id)
        files = {p.name: p.read_bytes() for p in (new.parent / ("1" * 40)).iterdir()}
        files["README.md"] = b"# only in the old revision\n"
        old = store_snapshot(self.cache, repo_id, files, commit_hash="1" * 40, ref="v1")
        return old, new


@pytest.fixture
def repos(hf_cache: Path) -> Repos:
    """Repo builders writing into this test's cache."""
    return Repos(hf_cache)


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run `mlxk ARGS...` in-process; stdout and stderr are kept apart."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    return invoke
