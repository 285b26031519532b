"""Server settings: flags and ``MLXK_*`` variables, read once by ``main`` or the lifespan."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from mlxk_core import Settings

__all__ = ["ServerSettings"]

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _number(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = env.get(name)
    return float(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class ServerSettings:
    """Everything the server needs; ``core`` locates the cache (and names the BLAS).

    ``dtype`` and ``dequantize`` override the MLX backend's automatic weight layout (None: auto).
    ``allowed_hosts``: Host names served besides the loopback ones while ``host`` is a loopback
    address (``*``: any name).
    """

    core: Settings
    host: str = "127.0.0.1"
    port: int = 8000
    preload: str | None = None
    models: tuple[str, ...] = ()
    max_loaded_models: int = 1
    api_key: str | None = field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    max_queue: int = 64
    log_level: str = "info"
    idle_unload: float | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_batch: int = 32
    prefill_chunk: int = 512
    fair_share: float = 1.0
    dtype: str | None = None
    dequantize: bool | None = None
    tool_parser: str | None = None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> ServerSettings:
        """Settings from ``MLXK_*`` variables; keyword overrides (flags) win when not None."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            "core": Settings.from_env(env),
            "preload": env.get("MLXK_MODEL") or None,
            "models": _split(env.get("MLXK_MODELS")),
            "api_key": env.get("MLXK_API_KEY") or None,
            "cors_origins": _split(env.get("MLXK_CORS_ORIGINS")),
            "allowed_hosts": _split(env.get("MLXK_ALLOWED_HOSTS")),
            "idle_unload": _number(env, "MLXK_IDLE_UNLOAD", None),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
