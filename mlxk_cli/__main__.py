"""`python -m mlxk_cli`: the same as the ``mlxk`` console script."""

from mlxk_cli.app import main

main()
