"""`mlxk serve`: start the OpenAI-compatible server; ``mlxk-serve``'s own parser reads the flags."""

from __future__ import annotations

import typer

from mlxk_cli.errors import cli_errors
from mlxk_core import MlxkError

_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def serve(ctx: typer.Context) -> None:
    """Serve cached MLX models over an OpenAI-compatible HTTP API (flags: mlxk serve --help)."""
    try:
        from mlxk_server.main import main
    except ModuleNotFoundError as exc:  # the CLI installed without the server's extra
        missing = (exc.name or "?").split(".")[0]
        with cli_errors("serve", json_mode=False):
            raise MlxkError(f"mlxk serve needs the server's packages ({missing} is missing)",
                            hint="pip install 'mlxk[server]'") from None
    main(ctx.args, prog="mlxk serve")


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the root app; every argument goes to the server's parser (one flag set)."""
    app.command("serve", context_settings=_PASS_THROUGH, add_help_option=False)(serve)
