"""Server fixtures: a real uvicorn server on 127.0.0.1 (random port) in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from mlxk_core.backends.fake import FakeBackend
from mlxk_core.cache.records import Health, ModelFacts, ResolvedModel
from mlxk_core.errors import ModelNotFound
from mlxk_core.settings import Settings
from mlxk_server.app import create_app
from mlxk_server.config import ServerSettings
from mlxk_server.models import Catalog


class FakeCatalog(Catalog):
    """Resolves a fixed set of names to fake MLX models (for the FakeBackend)."""

    def __init__(self, root: Path, names: dict[str, ModelFacts]) -> None:
        super().__init__(Settings(cache_dir=root))
        self._root = root
        self._names = names

    def resolve(self, name: str) -> ResolvedModel:
        if name not in self._names:
            raise ModelNotFound(name)
        return ResolvedModel(name=name, path=self._root / name, facts=self._names[name],
                             health=Health(True), repo_id=name)


def paced(delay: float, **kwargs: object) -> FakeBackend:
    """A FakeBackend whose every decoding step takes ``delay`` seconds, like a real model."""
    return FakeBackend(step_delay=delay, **kwargs)  # type: ignore[arg-type]


CHAT = ModelFacts(framework="mlx", model_type="chat", context_length=4096)


@contextmanager
def running(app: object) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread; yield its base URL."""
    # proto=TCP so that asyncio sets TCP_NODELAY on accepted connections, as it does for the
    # sockets uvicorn opens itself (without it every response waits ~40 ms for delayed ACKs)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def serve_fake(hf_cache: Path) -> Callable[..., object]:
    """``with serve_fake(backend=FakeBackend, **settings) as url:`` a server on fakes.

    ``backend`` makes the backend of every model (``backend_for`` per model name); ``models``
    maps the served names to their facts (None: a chat model).
    """

    @contextmanager
    def serve(
        backend: Callable[[], FakeBackend] = FakeBackend,
        backend_for: dict[str, Callable[[], FakeBackend]] | None = None,
        models: dict[str, ModelFacts | None] | None = None,
        **settings: object,
    ) -> Iterator[str]:
        conf = ServerSettings(core=Settings(cache_dir=hf_cache), **settings)  # type: ignore[arg-type]
        names = {k: v or CHAT for k, v in (models or {"fake/chat": None}).items()}
        makers = backend_for or {}

        def factory(model: ResolvedModel) -> FakeBackend:
            return makers.get(model.name, backend)()

        app = create_app(conf, backend=factory, catalog=FakeCatalog(hf_cache, names))
        with running(app) as url:
            yield url

    return serve
