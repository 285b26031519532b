"""`mlxk` as a user runs it: the installed console script in a subprocess, on a given cache."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.programs import console_script

GREEDY = ("--temperature", "0")


def mlxk(
    cache: Path, *args: str, input: str | None = None, cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``mlxk ARGS`` in ``cwd`` with ``cache`` as the hub cache; stdin is ``input``."""
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "NO_COLOR": "1"}
    return subprocess.run(
        [console_script("mlxk"), *args],
        env=env,
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )
