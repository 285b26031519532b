"""The real `mlxk` program in a subprocess: exit codes, stdin handling and lean imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.programs import console_script

HEAVY = ("mlx", "mlx_lm", "transformers")

# Runs `mlxk ARGS` in-process and, at exit, reports which heavy modules got imported.
PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write(
    "HEAVY=" + ",".join(m for m in {heavy!r} if m in sys.modules) + "\\n"))
sys.argv = ["mlxk", *{args!r}]
from mlxk_cli.app import main
main()
"""


def _mlxk() -> list[str]:
    return [console_script("mlxk")]


def _run(cmd: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "NO_COLOR": "1"}
    return subprocess.run(
        cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60
    )


def _heavy_imports(args: list[str], cache: Path) -> str:
    proc = _run([sys.executable, "-c", PROBE.format(heavy=HEAVY, args=args)], cache)
    line = next(x for x in proc.stderr.splitlines() if x.startswith("HEAVY="))
    return line.removeprefix("HEAVY=")


def test_help_and_list_do_not_import_mlx_or_transformers(repos, hf_cache: Path):
    repos.mlx()
    repos.gguf()
    assert _heavy_imports(["--help"], hf_cache) == ""
    assert _heavy_imports(["list", "--all", "--health"], hf_cache) == ""
    assert _heavy_imports(["list", "--json"], hf_cache) == ""


def test_console_script_list_json_and_version(repos, hf_cache: Path):
    repos.mlx()
    proc = _run([*_mlxk(), "list", "--json"], hf_cache)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [m["name"] for m in doc["data"]["models"]] == ["mlx-community/Tiny-4bit"]
    version = _run([*_mlxk(), "--version"], hf_cache)
    assert version.returncode == 0 and version.stdout.startswith("mlxk ")


def test_console_script_rm_off_a_tty_refuses_without_force(repos, hf_cache: Path):
    snapshot = repos.mlx()
    proc = _run([*_mlxk(), "rm", "mlx-community/Tiny-4bit"], hf_cache)
    assert proc.returncode == 1
    assert "--force" in proc.stderr
    assert snapshot.exists()
    forced = _run([*_mlxk(), "rm", "mlx-community/Tiny-4bit", "--force"], hf_cache)
    assert forced.returncode == 0, forced.stderr
    assert not snapshot.exists()


def test_console_script_errors_and_usage(hf_cache: Path):
    missing = _run([*_mlxk(), "show", "nobody/nothing"], hf_cache)
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.startswith("Error: Model 'nobody/nothing' not found")
    usage = _run([*_mlxk(), "show"], hf_cache)
    assert usage.returncode == 2
    assert _run([sys.executable, "-m", "mlxk_cli", "list", "--nope"], hf_cache).returncode == 2


def test_version_loads_neither_typer_nor_rich() -> None:
    code = (
        "import sys; sys.argv = ['mlxk', '--version']\n"
        "from mlxk_cli.entry import main; main()\n"
        "print(sorted(m for m in ('typer', 'rich', 'huggingface_hub') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    version, loaded = out.stdout.splitlines()
    assert version.startswith("mlxk ") and loaded == "[]"
