"""One table from error type to exit code, and the boundary that renders errors."""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.markup import escape

from mlxk_cli.output import emit_json, err_console
from mlxk_core import MlxkError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# click's error classes, reached through a public typer name (typer >= 0.29 has its own click)
UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)
ClickException: type[Exception] = UsageError.__mro__[1]


def error_payload(exc: MlxkError) -> dict[str, object]:
    """The ``error`` field of the JSON envelope for an MlxkError."""
    return {"type": exc.code, "message": exc.message, "hint": exc.hint}


def usage_error_json(exc: Exception) -> None:
    """Print a usage error (bad flag, missing argument) as the JSON envelope of its command."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.info_name if ctx is not None and ctx.parent is not None else None
    where = f"mlxk {command}" if command else "mlxk"
    message = exc.format_message()  # type: ignore[attr-defined]
    emit_json(command or "mlxk", None, {
        "type": "usage", "message": message, "hint": f"run `{where} --help`"
    })


@contextmanager
def cli_errors(command: str, *, json_mode: bool) -> Iterator[None]:
    """Turn MlxkError into one clear line on stderr (or a JSON envelope) and exit 1."""
    try:
        yield
    except MlxkError as exc:
        if os.environ.get("MLXK_DEBUG"):
            traceback.print_exc()
        if json_mode:
            emit_json(command, None, error_payload(exc))
        else:
            line = f"[bold red]Error:[/] {escape(exc.message)}"  # text, not markup
            if exc.hint:
                line += f"\n[dim]Hint: {escape(exc.hint)}[/]"
            err_console.print(line)
        raise typer.Exit(EXIT_ERROR) from None
