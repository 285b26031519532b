"""A local model folder (with config.json) is a model name for show and health, as for run."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.programs import GREEDY, mlxk
from tests.factory import QA, snapshot_dir

Install = Callable[[str], str]


@pytest.fixture
def folder(install_model: Install, hf_cache: Path, tmp_path: Path) -> Path:
    """The trained chat model copied out of the cache into a plain folder (no links)."""
    source = snapshot_dir(hf_cache, install_model("chat"))
    target = tmp_path / "models" / "my-model"
    shutil.copytree(source, target, symlinks=False)
    shutil.rmtree(source.parent.parent)  # only the folder is left: nothing in the cache
    return target


def test_run_show_and_health_take_the_same_folder(folder: Path, hf_cache: Path) -> None:
    run = mlxk(hf_cache, "run", str(folder), QA.FRANCE.question, *GREEDY)
    assert run.returncode == 0, run.stderr
    assert run.stdout == QA.FRANCE.answer + "\n"

    shown = mlxk(hf_cache, "show", str(folder), "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)["data"]
    assert data["name"] == str(folder) and data["snapshot_path"] == str(folder)
    assert (data["framework"], data["type"], data["commit"]) == ("mlx", "chat", None)
    assert data["health"] == {"healthy": True, "reasons": []}
    assert {f["name"] for f in data["files"]} >= {"config.json", "model.safetensors"}
    assert data["size"] == sum(p.stat().st_size for p in folder.iterdir())
    text = mlxk(hf_cache, "show", str(folder))
    assert text.returncode == 0 and "local folder" in text.stdout

    health = mlxk(hf_cache, "health", str(folder), "--json")
    assert health.returncode == 0, health.stderr
    doc = json.loads(health.stdout)["data"]
    assert doc == {"healthy": True, "models": [
        {"name": str(folder), "commit": None, "healthy": True, "reasons": []}
    ]}


def test_relative_folder_and_a_broken_folder(folder: Path, hf_cache: Path) -> None:
    here = folder.parent
    assert mlxk(hf_cache, "show", "./my-model", cwd=here).returncode == 0
    assert mlxk(hf_cache, "health", "my-model", cwd=here).returncode == 0
    (folder / "tokenizer.json").unlink()
    broken = mlxk(hf_cache, "health", "./my-model", "--json", cwd=here)
    assert broken.returncode == 1
    (entry,) = json.loads(broken.stdout)["data"]["models"]
    assert entry["healthy"] is False and any("tokenizer" in r for r in entry["reasons"])


def test_a_path_that_is_no_model_folder_is_a_clear_error(tmp_path: Path, hf_cache: Path) -> None:
    for command in ("show", "health"):
        result = mlxk(hf_cache, command, str(tmp_path / "nothing-here"))
        assert result.returncode == 1
        assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
