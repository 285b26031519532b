"""Every test runs against an isolated, empty Hugging Face cache and no network."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """A suite started with SIGINT ignored (``nohup cmd &``) would pass that on to every program
    it starts: the Ctrl-C tests need SIGINT delivered, as from a terminal."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HF_HOME / HF_HUB_CACHE at a temp folder and make the hub unreachable."""
    home = tmp_path / "hf-home"
    cache = home / "hub"
    cache.mkdir(parents=True)
    for var in (
        "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "MLXK_MODELS", "MLXK_API_KEY", "HF_HUB_OFFLINE",
        "MLXK_ALLOWED_HOSTS", "MLXK_CORS_ORIGINS",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    return cache


@pytest.fixture
def hf_cache(isolated_env: Path) -> Path:
    """The isolated, initially empty hub cache of this test."""
    return isolated_env


@pytest.fixture(scope="session")
def model_factory() -> Path:
    """The prebuilt hub with every factory model (built once, cached in tests/.factory-cache)."""
    from tests.factory import prebuilt_hub

    return prebuilt_hub()


@pytest.fixture
def install_model(model_factory: Path, hf_cache: Path) -> Callable[[str], str]:
    """Install a factory variant into this test's cache: ``install_model("chat") -> repo_id``."""
    from tests.factory import build_model

    return lambda variant: build_model(variant, hf_cache)
