"""`mlxk health [MODEL] [--json]`: can each cached model be loaded, and if not, why.

With no MODEL every cached model (any framework) is checked, and the exit code is 1 when any of
them is unhealthy, so ``mlxk health && mlxk serve`` or a CI step can gate on a sound cache.
With MODEL (``name[@rev]`` or a local model folder) only that revision or folder is checked:
exit 0 healthy, 1 unhealthy.
"""

from __future__ import annotations

from typing import Any

import typer


def health_check(
    model: str | None = typer.Argument(
        None, help="Check only this model: name, name@revision or a local model folder."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Check cached models; exit 1 if any is unhealthy."""
    from mlxk_cli.errors import EXIT_ERROR, cli_errors

    with cli_errors("health", json_mode=json_out):
        results = _check(model)
    healthy = all(r["healthy"] for r in results)
    if json_out:
        _emit(results, healthy)
    else:
        _print(results)
    if not healthy:
        raise typer.Exit(EXIT_ERROR)


def _check(name: str | None) -> list[dict[str, Any]]:
    from mlxk_cli import render
    from mlxk_cli.locate import locate
    from mlxk_core import CacheIndex, ResolvedModel, Settings, verify_model, verify_revision

    if name is not None:
        found = locate(name)
        if isinstance(found, ResolvedModel):  # a local folder: its health reads weight headers
            return [_entry(found.name, None, render.health_dict(found.health))]
        cached, rev = found
        verdict = verify_revision(rev).health  # weight headers are read here, not in `list`
        return [_entry(cached.repo_id, rev.commit_hash, render.health_dict(verdict))]
    index = CacheIndex.from_settings(Settings.from_env())
    models = sorted((verify_model(m) for m in index.models()), key=lambda m: m.repo_id.lower())
    return [
        _entry(m.repo_id, m.latest.commit_hash if m.latest else None,
               render.health_dict(render.model_health(m)))
        for m in models
    ]


def _entry(name: str, commit: str | None, health: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "commit": commit, **health}


def _emit(results: list[dict[str, Any]], healthy: bool) -> None:
    from mlxk_cli.output import emit_json

    error = None
    if not healthy:
        bad = [r["name"] for r in results if not r["healthy"]]
        error = {
            "type": "unhealthy_model",
            "message": f"{len(bad)} of {len(results)} model(s) unhealthy: " + ", ".join(bad),
            "hint": "run `mlxk rm MODEL` and `mlxk pull MODEL` again for each broken model",
        }
    emit_json("health", {"healthy": healthy, "models": results}, error)


def _print(results: list[dict[str, Any]]) -> None:
    from rich.markup import escape

    from mlxk_cli import render
    from mlxk_cli.output import console, err_console

    if not results:
        console.print("No models in the cache.")
        return
    out = render.table("NAME", "ID", "HEALTH", "REASONS")
    for r in results:
        out.add_row(
            r["name"],
            render.short_hash(r["commit"]),
            "[green]ok[/]" if r["healthy"] else "[red]unhealthy[/]",
            escape("; ".join(r["reasons"])) or "-",
        )
    render.print_table(out)
    bad = sum(not r["healthy"] for r in results)
    if bad:
        err_console.print(f"[bold red]Error:[/] {bad} of {len(results)} model(s) unhealthy")


def register(app: typer.Typer) -> None:
    """Add ``health`` to the root app."""
    app.command("health")(health_check)
