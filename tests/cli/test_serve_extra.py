"""`mlxk serve` in an install without the server's extra: one clear line, not a traceback."""

from __future__ import annotations

import subprocess
import sys

WITHOUT_STARLETTE = (
    "import runpy, sys; sys.modules['starlette'] = None; sys.argv = ['mlxk', 'serve'];"
    "runpy.run_module('mlxk_cli', run_name='__main__')"
)


def test_serve_without_the_server_extra_says_what_to_install() -> None:
    done = subprocess.run([sys.executable, "-c", WITHOUT_STARLETTE], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "mlxk serve needs the server's packages" in done.stderr
    assert "pip install 'mlxk[server]'" in done.stderr and "Traceback" not in done.stderr
