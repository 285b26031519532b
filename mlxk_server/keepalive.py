"""Ollama's per-request ``keep_alive``: how long a model stays loaded after a request.

Each request that gives one resets its model's timer: ``0`` unloads the model once it is idle,
a positive duration unloads it that long after the request, a negative one keeps it (until the
server's own ``--idle-unload`` or an eviction). A request without ``keep_alive`` leaves the
timer as it is. Timers run on the event loop; the engine unloads only an idle model.
"""

from __future__ import annotations

import asyncio
import math
import re
import time

from mlxk_core import Engine, ResolvedModel
from mlxk_server.errors import ApiError

__all__ = ["KeepAlive", "parse_duration"]

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_FOREVER = 10 * 365 * 86400.0  # longer than this: kept, as a negative keep_alive
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: object) -> float:
    """Seconds of a ``keep_alive``: a number of seconds or a Go duration (``"5m"``, ``"1h30m"``,
    ``"-1"``); 400 for anything else."""
    seconds = _seconds(value)
    if seconds is not None and math.isfinite(seconds):
        return seconds
    raise ApiError(400, f"Invalid keep_alive {str(value)[:40]!r}: give seconds or a duration "
                   "such as \"5m\", \"0\" (unload now) or \"-1\" (keep loaded)",
                   param="keep_alive")


def _seconds(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text[1:] if text[:1] in "+-" else text
    if re.fullmatch(r"\d+(\.\d*)?", text):
        return sign * float(text)
    parts = _PART.findall(text)
    if parts and "".join(n + u for n, u in parts) == text:
        return sign * sum(float(n) * _UNIT[u] for n, u in parts)
    return None


class KeepAlive:
    """The models with a pending ``keep_alive`` unload, by repo id (event loop only)."""

    def __init__(self) -> None:
        self._timers: dict[str, tuple[asyncio.TimerHandle, float]] = {}

    def apply(self, engine: Engine, name: str, model: ResolvedModel, seconds: float) -> None:
        """Start ``name``'s keep-alive of ``seconds`` now (0: unload at once)."""
        self.forget(name)
        if seconds == 0:
            engine.unload(model)
        elif 0 < seconds < _FOREVER:
            timer = asyncio.get_running_loop().call_later(
                seconds, self._expire, engine, name, model
            )
            self._timers[name] = (timer, time.time() + seconds)

    def expires_at(self, name: str) -> float | None:
        """When ``name`` is due to be unloaded (epoch seconds), if a keep-alive says so."""
        entry = self._timers.get(name)
        return None if entry is None else entry[1]

    def forget(self, name: str) -> None:
        """Cancel ``name``'s pending unload."""
        entry = self._timers.pop(name, None)
        if entry is not None:
            entry[0].cancel()

    def _expire(self, engine: Engine, name: str, model: ResolvedModel) -> None:
        self._timers.pop(name, None)
        engine.unload(model)
