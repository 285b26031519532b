"""Hostile model names: traversal, absolute paths, encoded names, links out of the cache."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mlxk_core.backends.mlx import MlxBackend
from tests.factory import variants as v
from tests.fakehub.fixtures import cache_picture
from tests.programs import console_script
from tests.reliability.pulltools import mlxk
from tests.reliability.recorder import Figures

COMMIT = "c" * 40
LEGIT = "mlx-community/Tiny-Chat-4bit"


class World:
    """A cache with one sound model and four repos whose links escape, plus an outside folder
    (a canary file, a model folder, a whole repo) that must survive everything."""

    def __init__(self, cache: Path, outside: Path) -> None:
        self.cache = cache
        self.outside = outside
        self.canary = outside / "canary.txt"
        self.victim_model = outside / "victim-model"
        self.victim_repo = outside / "victim-repo"

    def build(self) -> World:
        v.make_mlx_model(self.cache, LEGIT)
        self.outside.mkdir()
        self.canary.write_text("must survive\n")
        model = v.make_mlx_model(self.outside / "hub", "victim/model")  # a real-looking model
        os.symlink(model, self.victim_model)
        os.symlink(self.outside / "hub" / "models--victim--model", self.victim_repo)
        # every file of the snapshot links to a file outside the cache
        snap = self.cache / "models--evil--escape" / "snapshots" / COMMIT
        snap.mkdir(parents=True)
        for f in model.iterdir():
            os.symlink(os.path.realpath(f), snap / f.name)
        # the repo folder itself is a link to a repo outside
        os.symlink(self.victim_repo, self.cache / "models--evil--linked")
        # the snapshot folder is a link to a model folder outside
        snaps = self.cache / "models--evil--snaplink" / "snapshots"
        snaps.mkdir(parents=True)
        os.symlink(model, snaps / COMMIT)
        # the blobs folder is a link to the outside repo's blobs
        blobs_repo = self.cache / "models--evil--blobs"
        blobs_repo.mkdir()
        os.symlink(self.outside / "hub" / "models--victim--model" / "blobs", blobs_repo / "blobs")
        (blobs_repo / "snapshots").mkdir()
        os.symlink(model, blobs_repo / "snapshots" / COMMIT)
        return self

    def picture(self) -> dict[str, str]:
        """Everything outside the cache, with content hashes (links followed for content)."""
        found = cache_picture(self.outside)
        for name in ("victim-model", "victim-repo"):
            for key, value in cache_picture(self.outside / name).items():
                found[f"{name}/{key}"] = value
        return found


ESCAPING_REPOS = ("evil/escape", "evil/linked", "evil/snaplink", "evil/blobs")


def _names(world: World, *, model_paths: bool = True) -> list[str]:
    """Names a user (or a script fed by someone else) might type, from inside the cache.

    ``model_paths``: include paths to the model folder outside the cache (``mlxk run`` loads a
    local model folder given as a path on purpose, so run leaves them out).
    """
    out = world.outside
    local = [str(world.victim_model), "../../outside/victim-model"] if model_paths else []
    return [
        *local,
        "..",
        "../",
        "../..",
        "../../outside/canary.txt",
        "../../outside",
        "./../../outside",
        "org/../../outside",
        "mlx-community/../../outside/victim-model",
        "mlx-community/Tiny-Chat-4bit/../../../outside",
        "..\\outside\\victim-model",
        "%2e%2e%2f%2e%2e%2foutside%2fvictim-model",
        "..%2F..%2Foutside",
        "%2e%2e/%2e%2e",
        "mlx-community%2f..%2f..%2foutside",
        f"{LEGIT}@../../refs/main",
        f"{LEGIT}@{'../' * 4}outside",
        str(world.canary),
        str(out),
        str(world.cache),
        str(world.cache / "models--mlx-community--Tiny-Chat-4bit"),
        str(world.cache / "models--mlx-community--Tiny-Chat-4bit" / "blobs"),
        "~/../../" + str(out).lstrip("/"),
        "org/\x00name",
        "org/name\n../../outside",
        *ESCAPING_REPOS,
        *(f"{r}@{COMMIT}" for r in ESCAPING_REPOS),
    ]


@pytest.fixture
def world(hf_cache: Path, tmp_path: Path) -> World:
    """The cache with escaping repos, and the outside folder to protect."""
    return World(hf_cache, tmp_path / "outside").build()


@pytest.fixture
def no_load(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record (and refuse) every model load; the list must stay empty."""
    loads: list[Path] = []

    def load(self: MlxBackend, path: Path, *, name: str | None = None) -> None:
        loads.append(Path(path))
        raise AssertionError(f"a hostile name loaded {path}")

    monkeypatch.setattr(MlxBackend, "load", load)
    return loads


@pytest.mark.parametrize("command", ["rm", "show", "run"])
def test_hostile_names_are_never_loaded_nor_deleted(
    command: str,
    world: World,
    no_load: list[Path],
    figures: Figures,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rm / show / run with traversal, absolute, encoded and escaping names: nothing outside
    the cache is deleted or loaded, errors are clean (exit 1), the sound model is untouched."""
    before = world.picture()
    legit = cache_picture(world.cache / "models--mlx-community--Tiny-Chat-4bit")
    extra = {"rm": ["--force"], "show": ["--config", "--files"], "run": ["hello"]}[command]
    monkeypatch.chdir(world.cache)  # relative names start inside the cache
    for name in _names(world, model_paths=command != "run"):
        result = mlxk(command, name, *extra)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            name,
            result.exception,
        )
        if command != "show":  # show may describe an escaping repo (and call it unhealthy)
            assert result.exit_code == 1, (name, result.stdout, result.stderr)
            assert result.stderr.startswith("Error: "), (name, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
        assert world.picture() == before, f"{command} {name!r} changed files outside the cache"
        if result.exit_code == 0:  # show described an escaping repo
            figures.answer()
        else:
            figures.refusal("CLI: exit 1, hostile model name")
    assert no_load == []
    assert cache_picture(world.cache / "models--mlx-community--Tiny-Chat-4bit") == legit
    assert (world.cache / "models--evil--linked").is_symlink()


def test_show_calls_escaping_repos_unhealthy(world: World, figures: Figures) -> None:
    """A repo whose files link outside the cache is listed and shown as unhealthy, with why."""
    for repo in ("evil/escape", "evil/snaplink"):
        result = mlxk("show", repo, "--json")
        doc = json.loads(result.stdout)
        unhealthy = (doc["error"] or {}).get("type") == "unhealthy_model"
        assert unhealthy or doc["data"]["health"]["healthy"] is False, doc
        assert "outside the cache" in result.stdout
        if unhealthy:
            figures.refusal("CLI: exit 1, unhealthy model")
        else:
            figures.answer()
    listed = mlxk("list", "--all", "--health", "--json")
    assert "evil/linked" not in listed.stdout.replace("models--evil--linked", "")
    figures.answer()


@pytest.mark.reliability
def test_hostile_names_through_the_installed_mlxk(
    world: World, figures: Figures, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same names through the real `mlxk` executable (rm --force), in a subprocess."""
    monkeypatch.chdir(world.cache)
    before = world.picture()
    exe = console_script("mlxk")
    for name in _names(world):
        if "\x00" in name:
            continue  # argv cannot carry a NUL byte
        done = subprocess.run(
            [exe, "rm", name, "--force"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1, (name, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert world.picture() == before
        figures.refusal("CLI: exit 1, hostile model name")
