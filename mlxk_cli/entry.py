"""The ``mlxk`` console script: answers ``--version`` before loading Typer and Rich."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the CLI; ``mlxk --version`` alone is answered without importing the app."""
    if sys.argv[1:] == ["--version"]:
        from mlxk_core import __version__

        sys.stdout.write(f"mlxk {__version__}\n")
        return
    from mlxk_cli.app import main as run_app

    run_app()
