"""``mlxk-serve``: flags -> ServerSettings -> uvicorn; the only module that imports uvicorn."""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Iterator, Sequence
from types import FrameType

from mlxk_server.config import ServerSettings

__all__ = ["build_parser", "main", "serve", "settings_from_args"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def build_parser() -> argparse.ArgumentParser:
    """The flags of ``mlxk-serve`` (``mlxk serve`` offers the same ones)."""
    p = argparse.ArgumentParser(
        prog="mlxk-serve", description="OpenAI-compatible server for cached MLX models."
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--model", help="model to load at start-up (default: none)")
    p.add_argument("--models", help="comma-separated allow-list of served models (MLXK_MODELS)")
    p.add_argument("--max-loaded-models", type=int, default=1, help="models kept loaded (LRU)")
    p.add_argument("--api-key", help="require this bearer key (MLXK_API_KEY)")
    p.add_argument("--cors-origins", help="comma-separated allowed CORS origins (default: off)")
    p.add_argument("--max-queue", type=int, default=64, help="requests allowed to wait")
    p.add_argument("--max-batch", type=int, default=32, help="sequences decoded together")
    p.add_argument("--idle-unload", type=float, help="unload a model idle this many seconds")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    return p


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def settings_from_args(args: argparse.Namespace) -> ServerSettings:
    """Flags over environment variables."""
    return ServerSettings.from_env(
        host=args.host, port=args.port, preload=args.model, models=_split(args.models),
        max_loaded_models=args.max_loaded_models, api_key=args.api_key,
        cors_origins=_split(args.cors_origins), max_queue=args.max_queue,
        max_batch=args.max_batch, idle_unload=args.idle_unload, log_level=args.log_level,
    )


def serve(settings: ServerSettings) -> int:
    """Run the server until SIGINT/SIGTERM; returns 0 after a clean shutdown."""
    import uvicorn

    from mlxk_server.app import create_app

    app = create_app(settings)

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn re-raises the signal after shutdown; we exit 0 instead.
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            state = getattr(app.state, "mlxk", None)
            if state is not None:  # end in-flight streams now, so connections close quickly
                state.engine.stop(timeout=0)
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=settings.log_level,
        timeout_graceful_shutdown=3, timeout_keep_alive=5,
    )
    Server(config).run()
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point of ``mlxk-serve``."""
    args = build_parser().parse_args(argv)
    raise SystemExit(serve(settings_from_args(args)))
