"""`mlxk list [PATTERN] [--all] [--health] [--json]`: the cached models as a table."""

from __future__ import annotations

from typing import Any

import typer


def list_models(
    pattern: str | None = typer.Argument(
        None, help="Show only models whose repo id contains this text (case-insensitive)."
    ),
    all_frameworks: bool = typer.Option(
        False, "--all", "-a", help="Show every framework (GGUF, PyTorch, ...), not only MLX."
    ),
    health: bool = typer.Option(False, "--health", help="Add a HEALTH column with reasons."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List cached models (MLX ones unless --all)."""
    from mlxk_cli.errors import cli_errors

    with cli_errors("list", json_mode=json_out):
        _run(pattern, all_frameworks, health, json_out)


def _run(pattern: str | None, all_frameworks: bool, health: bool, json_out: bool) -> None:
    from mlxk_cli import render
    from mlxk_cli.output import console, emit_json, err_console, human_size
    from mlxk_core import CacheIndex, Settings

    index = CacheIndex.from_settings(Settings.from_env())
    needle = (pattern or "").lower()
    matching = sorted(
        (m for m in index.models() if needle in m.repo_id.lower()), key=lambda m: m.repo_id.lower()
    )
    pairs = [(m, render.model_summary(m)) for m in matching]
    shown = [(m, s) for m, s in pairs if all_frameworks or s["framework"] == "mlx"]
    hidden = len(pairs) - len(shown)
    warnings = list(index.warnings())
    if json_out:
        data = {"models": [s for _, s in shown], "hidden": hidden, "warnings": warnings}
        emit_json("list", data)
        return
    for warning in warnings:
        err_console.print(f"[yellow]Warning:[/] {warning}")
    if not shown:
        console.print("No models found." if not pairs else "No MLX models found.")
    else:
        columns = ["NAME", "ID", "SIZE", "MODIFIED", "FRAMEWORK", "TYPE"]
        out = render.table(*columns, *(["HEALTH"] if health else []))
        for model, s in shown:
            row = [
                s["name"],
                render.short_hash(s["commit"]),
                human_size(s["size"]),
                render.relative_age(model.last_modified),
                render.FRAMEWORK_LABELS.get(s["framework"], s["framework"]),
                s["type"],
            ]
            if health:
                row.append("[green]ok[/]" if s["health"]["healthy"] else "[red]unhealthy[/]")
            out.add_row(*row)
        render.print_table(out)
        if health:
            _print_reasons([s for _, s in shown])
    if hidden:
        console.print(f"[dim]{hidden} non-MLX model(s) hidden; use --all to show them.[/]")


def _print_reasons(summaries: list[dict[str, Any]]) -> None:
    from rich.markup import escape

    from mlxk_cli.output import console

    for s in summaries:
        for reason in s["health"]["reasons"]:
            console.print(f"[red]{s['name']}[/]: {escape(reason)}")


def register(app: typer.Typer) -> None:
    """Add ``list`` to the root app."""
    app.command("list")(list_models)
