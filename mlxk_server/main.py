"""Console entry point of ``mlxk-serve``."""

import sys


def main() -> None:
    """Start the server (not implemented yet)."""
    sys.stderr.write("mlxk-serve: not implemented yet\n")
    sys.exit(1)
