"""`mlxk embed MODEL [TEXT...]`: unit-length vectors as JSON lines (or one JSON envelope)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from mlxk_cli.errors import EXIT_INTERRUPTED, EXIT_USAGE


def embed_texts(
    model: str = typer.Argument(..., help="An embedding model: org/name, a short name or folder."),
    texts: Annotated[list[str] | None, typer.Argument(
        help="Texts to embed; without any (or with `-`), one text per line of stdin."
    )] = None,
    truncate: bool = typer.Option(
        True, "--truncate/--no-truncate",
        help="Cut texts longer than the model's context (marked \"truncated\"), or refuse them.",
    ),
    dimensions: int | None = typer.Option(
        None, "--dimensions", min=1, help="Keep the first N values (Matryoshka models only)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
    dtype: str | None = typer.Option(
        None, "--dtype", help="Compute dtype: float32, bfloat16 or float16 [default: float32 on "
        "CPU, as stored on a GPU]."
    ),
) -> None:
    """Embed texts with an embedding model: one JSON line per text ({"index", "text",
    "embedding", "tokens", "truncated"}), the dimension and pooling on stderr.

    With --json, one envelope whose data is {"model", "dimension", "pooling",
    "prompt_tokens", "embeddings": [...]}.
    """
    from mlxk_cli.errors import cli_errors
    from mlxk_cli.output import write
    from mlxk_core import Embedder, Settings

    items = _texts(texts, json_out)
    try:
        with cli_errors("embed", json_mode=json_out), Embedder(
            model, settings=Settings.from_env(), dtype=dtype
        ) as embedder:
            result = embedder.embed(items, truncate=truncate, dimensions=dimensions)
    except KeyboardInterrupt:
        write("\n[interrupted]\n", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    rows = [
        {"index": i, "text": text, "embedding": list(e.vector), "tokens": e.tokens,
         "truncated": e.truncated}
        for i, (text, e) in enumerate(zip(items, result.embeddings, strict=True))
    ]
    if json_out:
        from mlxk_cli.output import emit_json

        emit_json("embed", {"model": result.model, "dimension": result.dimension,
                            "pooling": result.pooling, "prompt_tokens": result.prompt_tokens,
                            "embeddings": rows})
        return
    _print(rows, result)


def _texts(texts: list[str] | None, json_out: bool) -> list[str]:
    """The arguments, or stdin's non-empty lines; a usage error when there is nothing."""
    if texts and texts != ["-"]:
        return texts
    if not texts and sys.stdin.isatty():
        _usage("give TEXT arguments, or pipe texts in (one a line)", json_out)
    lines = [line.rstrip("\r") for line in sys.stdin.read().split("\n")]
    found = [line for line in lines if line.strip()]
    if not found:
        _usage("stdin held no text to embed", json_out)
    return found


def _usage(message: str, json_out: bool) -> None:
    from mlxk_cli.output import emit_json, err_console

    hint = "run `mlxk embed --help`"
    if json_out:
        emit_json("embed", None, {"type": "usage", "message": message, "hint": hint})
    else:
        err_console.print(f"[bold red]Error:[/] {message}\n[dim]Hint: {hint}[/]")
    raise typer.Exit(EXIT_USAGE)


def _print(rows: list[dict[str, Any]], result: Any) -> None:
    from mlxk_cli.output import write

    pooling = {"last": "last-token", "cls": "CLS", "mean": "mean"}[result.pooling]
    write(f"[mlxk] {len(rows)} vector(s) of dimension {result.dimension} from {result.model} "
          f"({pooling} pooling, {result.prompt_tokens} tokens)\n", err=True, dim=True)
    for row in rows:
        if row["truncated"]:
            write(f"Note: text {row['index']} was cut to {row['tokens']} tokens\n", err=True)
    write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def register(app: typer.Typer) -> None:
    """Add `embed` to the root app."""
    app.command("embed")(embed_texts)
