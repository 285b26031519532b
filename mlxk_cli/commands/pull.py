"""`mlxk pull org/name[@revision] [--json] [--quiet] [--force]`: download a model into the cache.

On a terminal a Rich bar shows bytes, speed and ETA. Otherwise (or with ``--json``, where
they go to stderr) progress is a few plain lines; ``--quiet`` prints only the final line.
A repo without MLX weights is pulled with a warning. Exit codes: 0 pulled and healthy,
1 refused or failed or unhealthy, 130 interrupted (Ctrl-C).

JSON ``data``: ``{"repo", "revision", "commit", "snapshot", "files": [{"name", "size",
"cached"}], "total_bytes", "downloaded_bytes", "health": Health, "facts": Facts,
"warnings": [str, ...]}``.
"""

from __future__ import annotations

import sys
from typing import Any

import typer


def pull_model(
    repo: str = typer.Argument(..., help="The hub repo, as org/name or org/name@revision."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the final line."),
    force: bool = typer.Option(False, "--force", "-f", help="Download files again if cached."),
) -> None:
    """Download a model from the Hugging Face hub into the cache, then check its health."""
    from mlxk_cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, cli_errors, error_payload
    from mlxk_cli.output import emit_json, write
    from mlxk_core import Settings, UnhealthyModel, pull

    view = _view(json_out=json_out, quiet=quiet)
    try:
        with cli_errors("pull", json_mode=json_out):
            try:
                result = pull(repo, settings=Settings.from_env(), progress=view.update, force=force)
            finally:
                view.close()
    except KeyboardInterrupt:
        write("\n[interrupted]\n", err=True)
        if json_out:
            emit_json("pull", None, {"type": "interrupted", "message": "interrupted", "hint": None})
        raise typer.Exit(EXIT_INTERRUPTED) from None
    data = result_dict(result)
    unhealthy = None if result.health.healthy else UnhealthyModel(repo, result.health.reasons)
    if json_out:
        emit_json("pull", data, error_payload(unhealthy) if unhealthy else None)
    else:
        _print(data, quiet=quiet, stream=sys.stdout)
    if unhealthy:
        raise typer.Exit(EXIT_ERROR)


def result_dict(result: Any) -> dict[str, Any]:
    """A PullResult as the ``data`` of the JSON envelope."""
    from mlxk_cli.render import facts_dict, health_dict

    return {
        "repo": result.repo_id,
        "revision": result.revision,
        "commit": result.commit_hash,
        "snapshot": str(result.snapshot_path),
        "files": [{"name": f.name, "size": f.size, "cached": f.cached} for f in result.plan.files],
        "total_bytes": result.plan.total_bytes,
        "downloaded_bytes": result.downloaded_bytes,
        "health": health_dict(result.health),
        "facts": facts_dict(result.facts),
        "warnings": list(result.warnings),
    }


def _print(data: dict[str, Any], *, quiet: bool, stream: Any) -> None:
    from mlxk_cli.output import human_size

    health = "healthy" if data["health"]["healthy"] else "UNHEALTHY"
    lines = [
        f"Pulled {data['repo']}@{data['revision']} ({data['commit'][:7]}): "
        f"{human_size(data['downloaded_bytes'])} downloaded, {len(data['files'])} files, {health}"
    ]
    if not quiet:
        lines += [f"  reason: {r}" for r in data["health"]["reasons"]]
        lines += [f"Warning: {w}" for w in data["warnings"]]
        if data["health"]["healthy"] and not data["warnings"]:
            lines.append(f'Run it: mlxk run {data["repo"]} "Hello"')
    stream.write("\n".join(lines) + "\n")
    stream.flush()


class _Lines:
    """Progress as plain lines: the plan, then every quarter of the transfer."""

    def __init__(self, stream: Any, *, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.step = 0

    def update(self, event: Any) -> None:
        from mlxk_cli.output import human_size

        if self.quiet:
            return
        if event.phase == "planned":
            plan = event.plan
            self._line(
                f"Pulling {plan.repo_id}@{plan.revision} ({plan.commit_hash[:7]}): "
                f"{len(plan.files)} files, {human_size(event.total_bytes)} to download"
                f" ({len(plan.cached_files)} already cached)"
            )
        elif event.phase == "downloading" and event.total_bytes:
            quarter = int(event.fraction * 4)
            if quarter > self.step:
                self.step = quarter
                self._line(
                    f"  {int(event.fraction * 100)}% {human_size(event.downloaded_bytes)}"
                    f" / {human_size(event.total_bytes)}"
                )

    def _line(self, *lines: str) -> None:
        for line in lines:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Nothing to tear down."""


class _Bar:
    """A Rich progress bar (bytes, speed, ETA) on the terminal."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        from mlxk_cli.output import console

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task: Any = None

    def update(self, event: Any) -> None:
        from mlxk_cli.output import console, human_size

        if event.phase == "planned":
            plan = event.plan
            console.print(
                f"Pulling [bold]{plan.repo_id}@{plan.revision}[/] ({plan.commit_hash[:7]}): "
                f"{len(plan.files)} files, {human_size(event.total_bytes)} to download "
                f"({len(plan.cached_files)} already cached)"
            )
            self.progress.start()
            self.task = self.progress.add_task(plan.repo_id, total=event.total_bytes or None)
        elif self.task is not None:
            self.progress.update(self.task, completed=event.downloaded_bytes)

    def close(self) -> None:
        """Stop drawing (the bar stays on screen)."""
        self.progress.stop()


def _view(*, json_out: bool, quiet: bool) -> _Lines | _Bar:
    if json_out:
        return _Lines(sys.stderr, quiet=quiet)
    if quiet or not sys.stdout.isatty():
        return _Lines(sys.stdout, quiet=quiet)
    return _Bar()


def register(app: typer.Typer) -> None:
    """Add ``pull`` to the root app."""
    app.command("pull")(pull_model)
