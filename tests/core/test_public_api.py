"""The public surface of mlxk_core: cheap to import, typed, and one complete sorted __all__."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlxk_core

HEAVY = ("typer", "rich", "starlette", "uvicorn", "mlx", "mlx_lm", "transformers")


def test_import_mlxk_core_loads_no_adapter_or_backend_stack() -> None:
    code = (
        "import sys, mlxk_core\n"
        f"heavy = {HEAVY!r}\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_all_is_sorted_unique_and_resolvable() -> None:
    names = list(mlxk_core.__all__)
    assert names == sorted(names)
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(mlxk_core, name) is not None


def test_every_error_class_is_exported() -> None:
    from mlxk_core import errors

    for name in errors.__all__:
        assert name in mlxk_core.__all__, name


def test_package_ships_py_typed() -> None:
    assert (Path(mlxk_core.__file__).parent / "py.typed").is_file()
