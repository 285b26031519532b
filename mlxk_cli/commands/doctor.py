"""`mlxk doctor [--json]`: the runtime mlxk uses here (device, BLAS, memory, versions).

JSON ``data``: ``{"ok": bool, "platform", "python", "backend": {"name": "mlx", "mlx",
"mlx_lm"}, "device": "cpu" | "metal" | "cuda" | null, "blas": {"kind", "path", "optimized",
"detail"}, "memory": {"total", "available"}, "cache_dir", "fast_path", "distributed":
{"backends": {"ring": bool, "mpi": bool, "jaccl": bool, "nccl": bool}, "launcher": path |
null}, "problems": [str, ...]}`` with sizes in bytes. Exit 1 when MLX cannot run here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from mlxk_core import Diagnosis


def doctor(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show the backend, device, BLAS and memory mlxk will use, and what to fix."""
    from mlxk_cli.errors import EXIT_ERROR, cli_errors
    from mlxk_core import Settings, diagnose

    with cli_errors("doctor", json_mode=json_out):
        found = diagnose(Settings.from_env())
    if json_out:
        _emit(found)
    else:
        _print(found)
    if not found.ok:
        raise typer.Exit(EXIT_ERROR)


def as_dict(found: Diagnosis) -> dict[str, Any]:
    """The JSON ``data`` of ``mlxk doctor``."""
    return {
        "ok": found.ok,
        "platform": found.platform,
        "python": found.python,
        "backend": {"name": "mlx", "mlx": found.mlx_version, "mlx_lm": found.mlx_lm_version},
        "device": found.device,
        "blas": {
            "kind": found.blas.kind,
            "path": found.blas.path,
            "optimized": found.blas.optimized,
            "detail": found.blas.detail,
        },
        "memory": {"total": found.memory.total, "available": found.memory.available},
        "cache_dir": str(found.cache_dir),
        "fast_path": found.fast_path,
        "distributed": {"backends": dict(found.distributed), "launcher": found.launcher},
        "problems": list(found.problems),
    }


def _emit(found: Diagnosis) -> None:
    from mlxk_cli.output import emit_json

    error = None
    if not found.ok:
        error = {
            "type": "backend_unavailable",
            "message": found.problems[0] if found.problems else "MLX is not usable here",
            "hint": "install `mlx[cpu]` on Linux (or `mlx` on Apple silicon) and `mlx-lm`",
        }
    emit_json("doctor", as_dict(found), error)


def _print(found: Diagnosis) -> None:
    from rich.markup import escape
    from rich.table import Table

    from mlxk_cli.output import console, err_console, human_size

    blas = found.blas
    blas_text = blas.kind + (f" ({blas.path})" if blas.path else "")
    if not blas.optimized:
        blas_text += f" [yellow]slow[/] - {blas.detail}"
    rows = [
        ("Platform", f"{found.platform}, Python {found.python}"),
        ("Backend", f"mlx {found.mlx_version or '-'}, mlx-lm {found.mlx_lm_version or '-'}"),
        ("Device", found.device or "[red]unavailable[/]"),
        ("BLAS", blas_text),
        ("Memory", f"{human_size(found.memory.available)} available of "
                   f"{human_size(found.memory.total)}"),
        ("CPU fast path", found.fast_path),
        ("Distributed", _distributed_text(found)),
        ("Cache", escape(str(found.cache_dir))),
    ]
    out = Table(box=None, show_header=False, pad_edge=False)
    for key, value in rows:
        out.add_row(f"[bold]{key}[/]", value)
    console.print(out)
    for problem in found.problems:
        err_console.print(f"[yellow]Note:[/] {escape(problem)}")


def _distributed_text(found: Diagnosis) -> str:
    usable = [name for name, ok in found.distributed if ok]
    missing = [name for name, ok in found.distributed if not ok]
    text = ", ".join(usable) or "[yellow]none[/]"
    if missing:
        text += f" [dim](not here: {', '.join(missing)})[/]"
    return text + ("" if found.launcher else " [yellow]- mlx.launch not found[/]")


def register(app: typer.Typer) -> None:
    """Add ``doctor`` to the root app."""
    app.command("doctor")(doctor)
