"""`mlxk import FILE.gguf [--name org/name] [--force] [--json]`: a GGUF into the cache as MLX.

The model is stored as a hub-layout repo (default name ``local/<file stem>``), so list, show,
health, run and serve see it like a pulled model. Importing the same file under the same name
again reuses what is stored unless ``--force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def import_model(
    file: str = typer.Argument(..., help="A llama-family .gguf (Q4_0, Q4_1, Q8_0, F16, F32)."),
    name: str | None = typer.Option(
        None, "--name", "-n", help="Repo id to store it as (default: local/<file stem>)."
    ),
    force: bool = typer.Option(False, "--force", "-f", help="Convert again even if imported."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Convert a GGUF model into an MLX model in the cache."""
    from mlxk_cli.errors import cli_errors
    from mlxk_cli.output import emit_json
    from mlxk_core import Settings, import_gguf

    with cli_errors("import", json_mode=json_out):
        if not json_out:
            _status(f"Importing {Path(file).name} ...")
        result = import_gguf(Path(file), settings=Settings.from_env(), repo_id=name, force=force)
    if json_out:
        emit_json("import", result_dict(result))
    else:
        _print(result)


def result_dict(result: Any) -> dict[str, Any]:
    """An ImportResult as the ``data`` of the JSON envelope."""
    quant = result.quantization
    return {
        "name": result.repo_id,
        "snapshot": str(result.snapshot_path),
        "source": str(result.source),
        "sha256": result.sha256,
        "architecture": result.architecture,
        "quantization": quant and {"bits": quant.bits, "group_size": quant.group_size},
        "tensor_types": list(result.tensor_types),
        "size": result.size,
        "reused": result.reused,
        "seconds": round(result.seconds, 3),
    }


def _status(text: str) -> None:
    from mlxk_cli.output import err_console

    err_console.print(f"[dim]{text}[/]")


def _print(result: Any) -> None:
    from mlxk_cli.output import console, human_size

    quant = result.quantization.description if result.quantization else "not quantized"
    if result.reused:
        console.print(
            f"Already imported as [bold]{result.repo_id}[/] (--force converts it again)."
        )
    else:
        console.print(
            f"Imported {result.source.name} as [bold]{result.repo_id}[/] "
            f"({quant}, {human_size(result.size)}) in {result.seconds:.1f} s."
        )
    console.print(f"Run it: mlxk run {result.repo_id} \"Hello\"")


def register(app: typer.Typer) -> None:
    """Add ``import`` to the root app."""
    app.command("import")(import_model)
