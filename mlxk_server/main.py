"""``mlxk-serve``: flags -> ServerSettings -> uvicorn; the only module that imports uvicorn.

Shutdown: SIGINT or SIGTERM (taken by :class:`SignalWatch`, so no C library can swallow them)
stops accepting connections and tells the engine to stop; waiting requests get a 503, running
ones end at once with a last chunk (finish reason ``stop``) and ``[DONE]``; the models are
released and the process exits 0. A second SIGINT skips waiting for connections.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from mlxk_core import COMPUTE_DTYPES, MlxkError
from mlxk_server.config import ServerSettings
from mlxk_server.group import add_group_arguments, in_group, serve_group
from mlxk_server.security import host_name, is_loopback
from mlxk_server.signals import SignalWatch

if TYPE_CHECKING:
    from mlxk_core import BackendFactory, ShardGroup

__all__ = ["add_arguments", "build_parser", "main", "serve", "settings_from_args"]

log = logging.getLogger("mlxk.server")


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the server's flags to ``p`` (``mlxk-serve`` and ``mlxk serve`` share them)."""
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--model", help="model to load at start-up (default: none)")
    p.add_argument("--models", help="comma-separated allow-list of served models (MLXK_MODELS)")
    p.add_argument("--max-loaded-models", type=int, default=1, help="models kept loaded (LRU)")
    p.add_argument("--api-key", help="require this bearer key (MLXK_API_KEY)")
    p.add_argument("--cors-origins", help="comma-separated allowed CORS origins (default: off)")
    p.add_argument("--allowed-hosts",
                   help="comma-separated Host names served besides localhost, 127.0.0.1 and "
                   "[::1] while listening on loopback; '*': any (MLXK_ALLOWED_HOSTS)")
    p.add_argument("--max-queue", type=int, default=64, help="requests allowed to wait")
    p.add_argument("--max-batch", type=int, default=32, help="sequences decoded together")
    p.add_argument("--prefill-chunk", type=int, default=512,
                   help="prompt tokens fed per step while others decode (default 512)")
    p.add_argument("--fair-share", type=float, default=1.0,
                   help="seconds a request for another model waits before the busy model "
                   "stops taking new work and is swapped (default 1.0)")
    p.add_argument("--idle-unload", type=float, help="unload a model idle this many seconds")
    p.add_argument("--dtype", choices=COMPUTE_DTYPES,
                   help="compute dtype (default: float32 on CPU, as stored on a GPU)")
    p.add_argument("--dequantize", action=argparse.BooleanOptionalAction, default=None,
                   help="hold quantized weights dense in memory (default: on CPU with a fast "
                   "BLAS, when they fit)")
    p.add_argument("--tool-parser",
                   help="mlx-lm tool parser for every model's call markup (default: each "
                   "model's own, inferred from its chat template)")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    add_group_arguments(p)
    return p


def build_parser(prog: str = "mlxk-serve") -> argparse.ArgumentParser:
    """The flags of ``mlxk-serve`` (``mlxk serve`` parses the same ones)."""
    return add_arguments(argparse.ArgumentParser(
        prog=prog, description="OpenAI-compatible server for cached MLX models."
    ))


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def settings_from_args(args: argparse.Namespace) -> ServerSettings:
    """Flags over environment variables."""
    return ServerSettings.from_env(
        host=args.host, port=args.port, preload=args.model, models=_split(args.models),
        max_loaded_models=args.max_loaded_models, api_key=args.api_key,
        cors_origins=_split(args.cors_origins), allowed_hosts=_split(args.allowed_hosts),
        max_queue=args.max_queue, max_batch=args.max_batch, prefill_chunk=args.prefill_chunk,
        fair_share=args.fair_share, idle_unload=args.idle_unload, log_level=args.log_level,
        dtype=args.dtype, dequantize=args.dequantize, tool_parser=args.tool_parser,
    )


def _configure_logging(level: str) -> None:
    """Send ``mlxk.*`` records to stderr in uvicorn's format."""
    from uvicorn.logging import DefaultFormatter

    logger = logging.getLogger("mlxk")
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def _report_blas(settings: ServerSettings) -> None:
    """Load the BLAS (before mlx is first imported) and say which one serves the CPU."""
    from mlxk_core import blas_hint_once, ensure_blas

    blas = ensure_blas(settings.core.blas)
    where = f" ({blas.path})" if blas.path else ""
    log.info("BLAS: %s%s%s", blas.kind, where, f"; {blas.detail}" if blas.detail else "")
    hint = blas_hint_once(blas)
    if hint:
        log.warning("%s", hint)


def _server(config: Any, on_exit: Callable[[], None], *, watched: bool) -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if watched:  # signals come from the SignalWatch (uvicorn would re-raise them)
                yield
                return
            with super().capture_signals():
                yield

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            on_exit()  # end in-flight streams now, so their connections close at once
            super().handle_exit(sig, frame)

    return Server(config)


def serve(
    settings: ServerSettings, *, backend: BackendFactory | None = None,
    group: ShardGroup | None = None,
) -> int:
    """Run the server until SIGINT/SIGTERM; returns 0 after a clean shutdown.

    ``group``: this is rank 0 of a sharded group (``backend`` shards over it); it starts
    driving once signals are taken, and stops as on SIGTERM when its launcher is gone.
    """
    with SignalWatch() as signals:  # first: every thread started later inherits the mask
        _configure_logging(settings.log_level)
        if group is not None:
            from mlxk_core import watch_parent

            group.start()
            watch_parent(lambda: os.kill(os.getpid(), signal.SIGTERM))
        if not is_loopback(settings.host) and not settings.api_key:
            log.warning("listening on %s without an API key: anyone who can reach this address "
                        "can use the server; set --api-key (MLXK_API_KEY)", settings.host)
        _report_blas(settings)
        import uvicorn

        from mlxk_server.app import create_app

        app = create_app(settings, backend=backend, group=group)

        def stop_engine() -> None:
            if group is not None:  # a rank that died mid-step must not hold the shutdown
                group.hurry()
            state = getattr(app.state, "mlxk", None)
            if state is not None:
                state.engine.stop(timeout=0)

        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level=settings.log_level,
            timeout_graceful_shutdown=3, timeout_keep_alive=5,
        )
        server = _server(config, stop_engine, watched=signals.active)
        signals.connect(lambda sig: server.handle_exit(sig, None))
        server.run()
        state = getattr(app.state, "mlxk", None)
        if state is not None:  # after a forced exit the lifespan did not stop it
            state.engine.stop()
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "mlxk-serve") -> None:
    """Console entry point of ``mlxk-serve`` (``mlxk serve`` calls it with its arguments)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    settings = settings_from_args(args)
    bad = [name for name in settings.allowed_hosts if name != "*" and host_name(name) is None]
    if bad:
        parser.error(f"--allowed-hosts / MLXK_ALLOWED_HOSTS: not a host name: {', '.join(bad)}")
    if not in_group(args):
        raise SystemExit(serve(settings))
    try:
        code = serve_group(settings, args, sys.argv[1:] if argv is None else argv, serve)
    except MlxkError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        code = 1
    raise SystemExit(code)
