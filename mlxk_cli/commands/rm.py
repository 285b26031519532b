"""`mlxk rm MODEL[@rev] [--force] [--json]`: show what would be deleted, confirm, delete.

Without ``--force`` the plan is shown and confirmation asked on a terminal; when stdin is not a
terminal (scripts, pipes) or with ``--json``, nothing is deleted unless ``--force`` is given.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from mlxk_core import RemovalPlan


def remove_model(
    model: str = typer.Argument(..., help="org/name (whole model) or name@revision (one)."),
    force: bool = typer.Option(False, "--force", "-f", help="Delete without asking."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Delete a cached model, or one revision of it, keeping blobs other revisions still use."""
    from mlxk_cli.errors import cli_errors

    with cli_errors("rm", json_mode=json_out):
        _run(model, force, json_out)


def stdin_is_tty() -> bool:
    """Whether a person can answer a confirmation prompt."""
    return sys.stdin is not None and sys.stdin.isatty()


def plan_dict(plan: RemovalPlan, *, deleted: bool) -> dict[str, Any]:
    """A RemovalPlan as JSON (see ``mlxk_cli.render`` for the shape)."""
    return {
        "repo_id": plan.repo_id,
        "revisions": list(plan.commit_hashes),
        "whole_repo": plan.whole_repo,
        "freed": plan.freed_bytes,
        "paths": [str(p) for p in plan.paths],
        "deleted": deleted,
    }


def _run(name: str, force: bool, json_out: bool) -> None:
    from mlxk_cli.errors import EXIT_ERROR
    from mlxk_cli.output import console, emit_json, err_console, human_size
    from mlxk_core import CacheIndex, Settings

    plan = CacheIndex.from_settings(Settings.from_env()).plan_removal(name)
    if not json_out:
        _print_plan(plan)
    if not force:
        if json_out or not stdin_is_tty():
            message = "Refusing to delete without confirmation: stdin is not a terminal"
            if json_out:
                message = "Refusing to delete without --force in --json mode"
                error = {"type": "confirmation_required", "message": message, "hint": "add --force"}
                emit_json("rm", plan_dict(plan, deleted=False), error)
            else:
                err_console.print(f"[bold red]Error:[/] {message}\n[dim]Hint: add --force[/]")
            raise typer.Exit(EXIT_ERROR)
        if not typer.confirm("Delete?", default=False):
            console.print("Nothing deleted.")
            return
    plan.execute()
    if json_out:
        emit_json("rm", plan_dict(plan, deleted=True))
    else:
        console.print(f"Deleted {_what(plan)}; freed {human_size(plan.freed_bytes)}.")


def _what(plan: RemovalPlan) -> str:
    from mlxk_cli.render import short_hash

    if plan.whole_repo:
        return plan.repo_id
    revs = ", ".join(short_hash(c) for c in plan.commit_hashes)
    return f"{plan.repo_id} revision {revs}"


def _print_plan(plan: RemovalPlan) -> None:
    from rich.markup import escape

    from mlxk_cli.output import console, human_size

    whole = " (whole model)" if plan.whole_repo else ""
    console.print(f"Will delete [bold]{_what(plan)}[/]{whole}")
    for path in plan.paths:
        console.print(f"  {escape(str(path))}")
    console.print(f"Space freed: [bold]{human_size(plan.freed_bytes)}[/]")


def register(app: typer.Typer) -> None:
    """Add ``rm`` to the root app."""
    app.command("rm")(remove_model)
