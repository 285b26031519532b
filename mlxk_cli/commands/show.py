"""`mlxk show MODEL[@rev] [--files] [--config] [--json]`: what the files say about one model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def show_model(
    model: str = typer.Argument(
        ..., help="org/name, a short name, name@revision or a local model folder."
    ),
    files: bool = typer.Option(False, "--files", help="List the snapshot's files with sizes."),
    config: bool = typer.Option(False, "--config", help="Print config.json."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show a cached model's (or a local folder's) facts, health, revisions and path."""
    from mlxk_cli.errors import cli_errors

    with cli_errors("show", json_mode=json_out):
        _run(model, files, config, json_out)


def read_config(snapshot: Path) -> Any:
    """The parsed config.json of a snapshot, or None when it is missing or unreadable."""
    try:
        return json.loads((snapshot / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _detail(name: str) -> tuple[dict[str, Any], Any]:
    """``show``'s data for ``name`` and the cached repo (None for a local folder)."""
    from mlxk_cli import render
    from mlxk_cli.locate import locate
    from mlxk_core import ResolvedModel, list_dir

    found = locate(name)
    if isinstance(found, ResolvedModel):
        path = found.path
        mtimes = [p.stat().st_mtime for p in path.rglob("*") if p.is_file()]
        modified = max(mtimes, default=path.stat().st_mtime)
        return render.folder_detail(found, list_dir(path), modified, read_config(path)), None
    cached, rev = found
    return render.model_detail(cached, rev, read_config(rev.snapshot_path)), cached


def _run(name: str, files: bool, config: bool, json_out: bool) -> None:
    from mlxk_cli import render
    from mlxk_cli.output import console, emit_json

    data, cached = _detail(name)
    if json_out:
        emit_json("show", data)
        return
    for key, value in _facts(data):
        console.print(f"[bold]{key:<15}[/]{value}")
    if data["gguf_variants"]:
        console.print("\n[bold]GGUF variants[/]")
        render.print_table(_gguf_table(data["gguf_variants"]))
    if len(data["revisions"]) > 1:
        console.print("\n[bold]Revisions[/]")
        render.print_table(_revisions_table(data["revisions"], cached))
    if files:
        console.print("\n[bold]Files[/]")
        render.print_table(_files_table(data["files"]))
    if config:
        console.print("\n[bold]config.json[/]")
        if data["config"] is None:
            console.print("[dim](no readable config.json in this snapshot)[/]")
        else:
            console.print_json(json.dumps(data["config"]))


def _facts(data: dict[str, Any]) -> list[tuple[str, str]]:
    from rich.markup import escape

    from mlxk_cli import render
    from mlxk_cli.output import human_size

    quant = data["quantization"]
    health = data["health"]
    embedding = [("Embedding", _embedding_text(data["embedding"]))] if data["embedding"] else []
    return [
        ("Name", data["name"]),
        ("Revision", render.short_hash(data["commit"]) + _refs(data["refs"])
         if data["commit"] else "- (local folder)"),
        ("Framework", render.FRAMEWORK_LABELS.get(data["framework"], data["framework"])),
        ("Type", data["type"]),
        ("Architecture", data["architecture"] or "unknown"),
        ("Quantization", _quant_text(quant)),
        ("Precision", data["precision"] or "unknown"),
        ("Context length", f"{data['context_length']:,}" if data["context_length"] else "unknown"),
        ("Reasoning", "yes" if data["reasoning"] else "no"),
        ("Capabilities", ", ".join(data["capabilities"]) or "none"),
        *embedding,
        ("Health", render.health_text(health)),
        ("Size", human_size(data["size"])),
        ("Modified", data["modified"]),
        ("Snapshot", escape(data["snapshot_path"])),
    ]


def _embedding_text(embedding: dict[str, Any]) -> str:
    """``1024 dimensions, last-token pooling (decoder), Matryoshka``, and what is unsupported."""
    from rich.markup import escape

    pooling = {"last": "last-token", "cls": "CLS", "mean": "mean"}[embedding["pooling"]]
    size = f"{embedding['dimension']} dimensions" if embedding["dimension"] else "? dimensions"
    text = f"{size}, {pooling} pooling ({embedding['family']})"
    if embedding["matryoshka"]:
        text += ", Matryoshka"
    if embedding["max_tokens"]:
        text += f", at most {embedding['max_tokens']:,} tokens"
    if embedding["unsupported"]:
        text += f" - [red]not supported[/]: {escape(embedding['unsupported'])}"
    return text


def _refs(refs: list[str]) -> str:
    return f" ({', '.join(refs)})" if refs else ""


def _quant_text(quant: dict[str, Any] | None) -> str:
    if quant is None:
        return "none"
    text: str = quant["description"]
    if quant["mode"] and quant["min_mlx"]:
        text += " - installed MLX " + ("meets it" if quant["supported"] else "is too old")
    return text


def _gguf_table(variants: list[dict[str, Any]]) -> Any:
    from mlxk_cli import render
    from mlxk_cli.output import human_size

    out = render.table("QUANT", "SIZE", "FILE")
    for v in variants:
        out.add_row(v["quant"], human_size(v["size"]), v["filename"])
    return out


def _revisions_table(revisions: list[dict[str, Any]], cached: Any) -> Any:
    from mlxk_cli import render
    from mlxk_cli.output import human_size

    ages = {r.commit_hash: r.last_modified for r in cached.revisions}
    out = render.table("ID", "REFS", "SIZE", "MODIFIED", "HEALTH")
    for r in revisions:
        out.add_row(
            render.short_hash(r["commit"]),
            ", ".join(r["refs"]) or "-",
            human_size(r["size"]),
            render.relative_age(ages[r["commit"]]),
            "[green]ok[/]" if r["healthy"] else "[red]unhealthy[/]",
        )
    return out


def _files_table(files: list[dict[str, Any]]) -> Any:
    from rich.markup import escape

    from mlxk_cli import render
    from mlxk_cli.output import human_size

    out = render.table("FILE", "SIZE")
    for f in sorted(files, key=lambda f: f["name"]):
        out.add_row(escape(f["name"]), human_size(f["size"]))
    return out


def register(app: typer.Typer) -> None:
    """Add ``show`` to the root app."""
    app.command("show")(show_model)
