"""The root Typer app: global options, and one module per command under ``commands/``."""

from __future__ import annotations

import importlib
import sys

import typer

from mlxk_core import __version__

app = typer.Typer(
    name="mlxk",
    help="Manage, run and serve Hugging Face-cached MLX language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module defines ``register(app)``; heavy imports stay inside the command functions.
COMMANDS: tuple[str, ...] = (
    "list_cmd", "show", "health", "pull", "rm", "run", "embed", "serve", "import_cmd", "doctor",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlxk {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Manage, run and serve Hugging Face-cached MLX language models."""


for _name in COMMANDS:
    importlib.import_module(f"mlxk_cli.commands.{_name}").register(app)


def main() -> None:
    """Console entry point of ``mlxk``; under ``--json`` a usage error is a JSON envelope too."""
    if "--json" not in sys.argv[1:]:
        app()
        return
    from mlxk_cli.errors import EXIT_USAGE, ClickException, UsageError, usage_error_json

    try:
        code = app(standalone_mode=False)
    except UsageError as exc:
        usage_error_json(exc)
        sys.exit(EXIT_USAGE)
    except ClickException as exc:
        exc.show()  # type: ignore[attr-defined]
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except typer.Abort:
        sys.stderr.write("Aborted!\n")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
