"""Helpers for the server reliability tests: servers on fakes or factory models, HTTP checks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mlxk_core import backend_factory
from mlxk_core.backends.base import Backend
from mlxk_core.backends.fake import FakeBackend
from mlxk_core.cache.records import ModelFacts, ResolvedModel
from mlxk_core.settings import Settings
from mlxk_server.app import create_app
from mlxk_server.config import ServerSettings
from tests.server.conftest import CHAT, FakeCatalog, running

__all__ = [
    "CHAT_BODY",
    "Factory",
    "assert_error",
    "assert_error_for",
    "health",
    "serve_factory",
    "serve_fakes",
    "slowed_mlx",
    "stream_events",
    "wait_idle",
]

CHAT_BODY = {"model": "fake/chat", "messages": [{"role": "user", "content": "hi"}]}


@dataclass
class Factory:
    """A backend factory that records every model it was asked to load."""

    make: Callable[[ResolvedModel], Backend] = field(default_factory=backend_factory)
    asked: list[ResolvedModel] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, model: ResolvedModel) -> Backend:
        """Record the model, then build its backend."""
        with self.lock:
            self.asked.append(model)
        return self.make(model)


@contextmanager
def serve_fakes(
    cache: Path,
    factory: Callable[[ResolvedModel], Backend] | None = None,
    models: dict[str, ModelFacts] | None = None,
    **settings: Any,
) -> Iterator[str]:
    """A real uvicorn server on scripted backends; ``models`` maps served names to facts."""
    conf = ServerSettings(core=Settings(cache_dir=cache), **settings)
    names = models or {"fake/chat": CHAT}
    app = create_app(
        conf,
        backend=factory or (lambda model: FakeBackend()),
        catalog=FakeCatalog(cache, names),
    )
    with running(app) as url:
        yield url


@contextmanager
def serve_factory(cache: Path, factory: Factory | None = None, **settings: Any) -> Iterator[str]:
    """A real uvicorn server on the models of ``cache`` (real MLX backend by default)."""
    conf = ServerSettings(core=Settings(cache_dir=cache), **settings)
    app = create_app(conf, backend=factory or Factory())
    with running(app) as url:
        yield url


def assert_error(r: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The response is an error in the OpenAI shape (with one of ``statuses``); its body."""
    assert not statuses or r.status_code in statuses, (r.status_code, r.text[:500])
    assert 400 <= r.status_code < 500 or statuses, (r.status_code, r.text[:500])
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    assert isinstance(err["message"], str) and err["message"], err
    assert isinstance(err["type"], str), err
    return err  # type: ignore[no-any-return]


def assert_error_for(path: str, doc: Any) -> None:
    """``doc`` is an error in the shape of the protocol ``path`` belongs to (Anthropic's for
    ``/v1/messages...``, Ollama's for ``/api/...``, OpenAI's for the rest)."""
    if path == "/v1/messages" or path.startswith("/v1/messages/"):
        assert doc["type"] == "error" and set(doc["error"]) == {"type", "message"}, doc
        assert isinstance(doc["error"]["message"], str) and doc["error"]["message"], doc
    elif path == "/api" or path.startswith("/api/"):
        assert set(doc) == {"error"} and isinstance(doc["error"], str) and doc["error"], doc
    else:
        assert set(doc["error"]) == {"message", "type", "param", "code"}, doc
        assert isinstance(doc["error"]["message"], str) and doc["error"]["message"], doc


def health(url: str) -> dict[str, Any]:
    """``GET /health`` as JSON (must answer 200)."""
    r = httpx.get(url + "/health", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def wait_idle(url: str, within: float = 10.0) -> dict[str, Any]:
    """Wait until /health shows nothing running or waiting; return that /health."""
    deadline = time.monotonic() + within
    while True:
        doc = health(url)
        if doc["active"] == 0 and doc["waiting"] == 0:
            return doc
        assert time.monotonic() < deadline, f"still busy after {within} s: {doc}"
        time.sleep(0.05)


def stream_events(r: httpx.Response) -> Iterator[dict[str, Any] | str]:
    """The ``data:`` payloads of an SSE response: parsed JSON, or the ``[DONE]`` marker."""
    for line in r.iter_lines():
        if line.startswith("data: "):
            payload = line[len("data: "):]
            yield payload if payload == "[DONE]" else json.loads(payload)


class _Slowed:
    """A model whose forward passes take longer: ``delay`` each, plus ``per_token`` for every
    input token (the tiny models are too quick for anything to happen while they work)."""

    def __init__(self, inner: Any, delay: float, per_token: float) -> None:
        self._inner, self._delay, self._per_token = inner, delay, per_token

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(self._delay + self._per_token * inputs.size)
        return self._inner(inputs, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def slowed_mlx(delay: float, per_token: float = 0.0) -> Callable[[ResolvedModel], Backend]:
    """A factory of MLX backends whose models are slowed (see ``_Slowed``)."""

    def make(model: ResolvedModel) -> Backend:
        backend = backend_factory()(model)
        load = backend.load

        def slowed_load(path: Path, *, name: str) -> Any:
            info = load(path, name=name)
            backend.model = _Slowed(backend.model, delay, per_token)  # type: ignore[attr-defined]
            return info

        backend.load = slowed_load  # type: ignore[method-assign]
        return backend

    return make
