"""The ASGI app: ``create_app(settings)``; state lives in the lifespan, never in module globals.

``app`` at module level reads its settings from the environment when it starts, so
``uvicorn mlxk_server.app:app`` works without importing anything heavy at import time.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from mlxk_core import (
    BackendFactory,
    Engine,
    LoadedEmbedder,
    LoadedModel,
    MlxkError,
    TokenPolicy,
    backend_factory,
)
from mlxk_server.auth import ApiKeyMiddleware
from mlxk_server.config import ServerSettings
from mlxk_server.errors import ApiError, error_response_for, from_mlxk
from mlxk_server.keepalive import KeepAlive
from mlxk_server.models import Catalog
from mlxk_server.problems import Problems
from mlxk_server.routes import ROUTES
from mlxk_server.security import HostCheck, JsonBodyOnly

__all__ = ["State", "app", "create_app"]

log = logging.getLogger("mlxk.server")


@dataclass
class State:
    """What the handlers share, created by the lifespan."""

    settings: ServerSettings
    catalog: Catalog
    engine: Engine
    problems: Problems
    keep_alive: KeepAlive = field(default_factory=KeepAlive)
    group: Any = None  # rank 0's ShardGroup when the model is sharded: its ``broken``, ``describe``


def _lifespan(
    conf: ServerSettings, backend: BackendFactory, catalog: Catalog | None, group: Any
) -> object:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        cat = catalog or Catalog(conf.core, conf.models)
        engine = Engine(
            backend, settings=conf.core, policy=TokenPolicy(mode="server"),
            max_loaded_models=conf.max_loaded_models, max_batch=conf.max_batch,
            max_queue=conf.max_queue, prefill_chunk=conf.prefill_chunk,
            fair_share=conf.fair_share, idle_unload=conf.idle_unload, on_load=_log_loaded,
        )
        engine.start()
        app.state.mlxk = State(conf, cat, engine, Problems(), group=group)
        try:
            if conf.preload:
                engine.load(cat.resolve(conf.preload))
                log.info("preloaded %s", conf.preload)
            yield
        finally:
            engine.stop()

    return lifespan


def _log_loaded(held: LoadedModel | LoadedEmbedder) -> None:
    """Say what was loaded and how its weights are laid out; the BLAS hint, once."""
    layout = getattr(held.backend, "layout", None)
    log.info("loaded %s (weights: %s)", held.model.name,
             layout.reason if layout is not None else "as stored")
    for rank in getattr(held.backend, "ranks", ()):  # a sharded model: what each rank holds
        log.info("rank %d (%s): %.1f MB in use, peak %.1f MB while loading", rank["rank"],
                 rank["host"], rank["weights"] / 1e6, rank["peak"] / 1e6)
    hint = getattr(held.backend, "blas_hint", None)
    text = hint() if callable(hint) else None
    if text:
        log.warning("%s", text)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response_for(request.url.path, exc)


async def _mlxk_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MlxkError)
    return error_response_for(request.url.path, from_mlxk(exc))


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    err = ApiError(500, "Internal server error", type="server_error")
    return error_response_for(request.url.path, err)


def create_app(
    settings: ServerSettings | None = None,
    *,
    backend: BackendFactory | None = None,
    catalog: Catalog | None = None,
    group: Any = None,
) -> Starlette:
    """The server app; ``settings`` None reads them from the environment now.

    ``backend`` builds the backend of each model loaded; None: the MLX backend with the core
    settings (BLAS) and the layout overrides of ``settings``. ``group``: rank 0 of a sharded
    group, reported by ``/health``; while it is broken requests get a 503.
    """
    conf = settings or ServerSettings.from_env()
    if backend is None:
        backend = backend_factory(conf.core, dtype=conf.dtype, dequantize=conf.dequantize,
                                  tool_parser=conf.tool_parser)
    # outermost first: a foreign Host is refused before CORS, the key or the body is looked at
    middleware = [Middleware(HostCheck, bind=conf.host, allowed=conf.allowed_hosts)]
    if conf.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(conf.cors_origins), allow_methods=["GET", "POST"],
            allow_headers=["*"],
        ))
    if conf.api_key:
        middleware.append(Middleware(ApiKeyMiddleware, api_key=conf.api_key))
    middleware.append(Middleware(JsonBodyOnly))
    return Starlette(
        routes=list(ROUTES),
        middleware=middleware,
        lifespan=_lifespan(conf, backend, catalog, group),  # type: ignore[arg-type]
        exception_handlers={
            ApiError: _api_error, MlxkError: _mlxk_error, Exception: _server_error,
        },
    )


class _EnvApp:
    """``uvicorn mlxk_server.app:app``: builds the app from the environment on first use."""

    def __init__(self) -> None:
        self._app: Starlette | None = None

    async def __call__(self, scope: object, receive: object, send: object) -> None:
        if self._app is None:
            self._app = create_app(ServerSettings.from_env())
        await self._app(scope, receive, send)  # type: ignore[arg-type]


app = _EnvApp()
