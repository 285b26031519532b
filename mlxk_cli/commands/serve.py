"""`mlxk serve`: start the OpenAI-compatible server (the same flags as ``mlxk-serve``)."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port."),
    model: str | None = typer.Option(None, help="Model to load at start-up (default: none)."),
    models: str | None = typer.Option(
        None, help="Comma-separated allow-list of served models (env MLXK_MODELS)."
    ),
    max_loaded_models: int = typer.Option(1, help="Models kept loaded (least recent evicted)."),
    api_key: str | None = typer.Option(None, help="Require this bearer key (env MLXK_API_KEY)."),
    cors_origins: str | None = typer.Option(None, help="Comma-separated allowed CORS origins."),
    max_queue: int = typer.Option(64, help="Requests allowed to wait before 429."),
    max_batch: int = typer.Option(32, help="Sequences decoded together."),
    idle_unload: float | None = typer.Option(None, help="Unload a model idle this many seconds."),
    log_level: str = typer.Option("info", help="critical, error, warning, info or debug."),
) -> None:
    """Serve cached MLX models over an OpenAI-compatible HTTP API."""
    from mlxk_server.main import build_parser, settings_from_args
    from mlxk_server.main import serve as run_server

    argv = ["--host", host, "--port", str(port), "--max-loaded-models", str(max_loaded_models),
            "--max-queue", str(max_queue), "--max-batch", str(max_batch), "--log-level", log_level]
    for flag, value in (("--model", model), ("--models", models), ("--api-key", api_key),
                        ("--cors-origins", cors_origins), ("--idle-unload", idle_unload)):
        if value is not None:
            argv += [flag, str(value)]
    args = build_parser().parse_args(argv)
    raise typer.Exit(run_server(settings_from_args(args)))


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the root app."""
    app.command("serve")(serve)
