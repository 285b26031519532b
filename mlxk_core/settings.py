"""Settings: everything mlxk reads from the environment, read once by an adapter."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings"]


def _cache_dir(environ: Mapping[str, str]) -> Path:
    if environ.get("HF_HUB_CACHE"):
        return Path(environ["HF_HUB_CACHE"]).expanduser()
    if environ.get("HF_HOME"):
        return Path(environ["HF_HOME"]).expanduser() / "hub"
    xdg = environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Where the cache is and how to reach the hub; built by adapters with ``from_env``."""

    cache_dir: Path
    hf_endpoint: str = "https://huggingface.co"
    hf_token: str | None = None
    offline: bool = False
    blas: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from an environment mapping (``os.environ`` when omitted)."""
        env = os.environ if environ is None else environ
        return cls(
            cache_dir=_cache_dir(env),
            hf_endpoint=(env.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/"),
            hf_token=env.get("HF_TOKEN") or None,
            offline=_flag(env.get("HF_HUB_OFFLINE")),
            blas=env.get("MLXK_BLAS") or None,
        )
