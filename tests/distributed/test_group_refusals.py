"""Set-ups that cannot work fail fast and clearly, with nothing left running: a model that
cannot be sharded (its architecture, too many ranks), a rank at another commit, without the
model or on another mlxk, a rank that never comes, a host that cannot be reached."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil
import pytest

from mlxk_core.cache.index import CacheIndex
from mlxk_core.cache.store import store_snapshot
from mlxk_core.settings import Settings
from mlxk_core.version import __version__
from tests.distributed.conftest import CHAT, env_for, hostfile, random_model, start_rank
from tests.programs import console_script

RUN = ["run", CHAT, "Hello!", "--temperature", "0", "--rank-timeout", "30"]


def mlxk_run(
    cache: Path, *args: str, within: float = 180
) -> tuple[subprocess.CompletedProcess[str], float]:
    """``mlxk ARGS`` to its end: what it said, and how long it took."""
    started = time.monotonic()
    done = subprocess.run([console_script("mlxk"), *args], env=env_for(cache),
                          capture_output=True, text=True, timeout=within)
    return done, time.monotonic() - started


def _no_rank_left() -> bool:
    for proc in psutil.process_iter(["cmdline", "ppid"]):
        cmd = " ".join(proc.info["cmdline"] or ())
        if "mlxk_cli" in cmd and proc.info["ppid"] and "pytest" not in cmd:
            try:
                if proc.environ().get("MLXK_LAUNCHED") == "1":
                    return False
            except psutil.Error:
                continue
    return True


# -- fast: refused before anything starts --------------------------------------------------


def test_contradicting_flags_are_refused_before_anything_starts(chat_cache: Path) -> None:
    done, took = mlxk_run(chat_cache, "run", CHAT, "hi", "--ranks", "1")
    assert done.returncode == 1 and "at least 2 ranks" in done.stderr and took < 30
    done, took = mlxk_run(chat_cache, "serve", "--ranks", "2")
    assert done.returncode == 1 and "needs its model up front" in done.stderr and took < 30


# -- slow: ranks start, find out, and end together -----------------------------------------


@pytest.mark.slow
def test_an_architecture_without_sharding_is_refused_by_name(tmp_path: Path) -> None:
    folder = random_model(tmp_path / "phi", "phi3")
    cache = tmp_path / "hub"
    cache.mkdir()
    done, took = mlxk_run(cache, "run", str(folder), "hi", "--ranks", "2")
    assert done.returncode == 1, done.stderr
    assert "cannot shard the 'phi3' architecture" in done.stderr
    assert took < 120 and _no_rank_left()


@pytest.mark.slow
def test_more_ranks_than_the_model_splits_into_are_refused(chat_cache: Path) -> None:
    done, _ = mlxk_run(chat_cache, *RUN, "--ranks", "3")
    assert done.returncode == 1, done.stderr
    assert "cannot be split over 3 ranks" in done.stderr
    assert "4 attention heads cannot be split evenly over 3 ranks" in done.stderr
    done, _ = mlxk_run(chat_cache, *RUN, "--ranks", "2", "--sharding", "pipeline")
    assert done.returncode == 1
    assert "'llama' architecture has no pipeline parallelism" in done.stderr
    assert _no_rank_left()


def _two_ranks(tmp_path: Path, rank0_cache: Path, rank1_cache: Path,
               **rank1_env: str) -> tuple[subprocess.CompletedProcess[str], ...]:
    """Rank 0 and rank 1 started by hand, each with its own cache; both to their end."""
    ring = hostfile(tmp_path)
    procs = [start_rank(0, ring, RUN, cache=rank0_cache),
             start_rank(1, ring, RUN, cache=rank1_cache, **rank1_env)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return tuple(results)


@pytest.mark.slow
def test_a_rank_at_another_commit_is_refused(chat_cache: Path, tmp_path: Path) -> None:
    mine = CacheIndex.from_settings(Settings(cache_dir=chat_cache)).resolve(CHAT)
    theirs = tmp_path / "other" / "hub"
    other = "b" * 40
    store_snapshot(theirs, CHAT, {p.name: p for p in sorted(mine.path.iterdir())},
                   commit_hash=other)
    rank0, rank1 = _two_ranks(tmp_path, chat_cache, theirs)
    assert rank0.returncode == 1, rank0.stderr
    assert "rank 1 (" in rank0.stderr and f"at commit {other[:12]}" in rank0.stderr
    assert (mine.commit_hash or "")[:12] in rank0.stderr
    assert rank1.returncode == 0, rank1.stderr  # told to leave by rank 0


@pytest.mark.slow
def test_a_rank_without_the_model_is_refused(chat_cache: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty" / "hub"
    empty.mkdir(parents=True)
    rank0, rank1 = _two_ranks(tmp_path, chat_cache, empty)
    assert rank0.returncode == 1
    assert "rank 1 (" in rank0.stderr and "is not in its cache" in rank0.stderr
    assert rank1.returncode == 0


@pytest.mark.slow
def test_a_rank_on_another_mlxk_version_is_refused(chat_cache: Path, tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import mlxk_core.version as v\nv.__version__ = '9.9.9'\n"
    )
    rank0, rank1 = _two_ranks(tmp_path, chat_cache, chat_cache, PYTHONPATH=str(shim))
    assert rank0.returncode == 1
    assert "rank 1 (" in rank0.stderr and "runs mlxk 9.9.9" in rank0.stderr
    assert f"runs mlxk {__version__}" in rank0.stderr
    assert rank1.returncode == 0


@pytest.mark.slow
def test_a_rank_that_never_comes_ends_the_wait(chat_cache: Path, tmp_path: Path) -> None:
    ring = hostfile(tmp_path)
    started = time.monotonic()
    alone = start_rank(0, ring, [*RUN[:-1], "5"], cache=chat_cache)
    _, err = alone.communicate(timeout=60)
    assert alone.returncode != 0
    assert "the group did not form within 5 s" in err
    assert time.monotonic() - started < 30


@pytest.mark.slow
def test_a_host_that_cannot_be_reached_fails_before_anything_starts(chat_cache: Path) -> None:
    done, took = mlxk_run(chat_cache, *RUN, "--hosts", "127.0.0.1,192.0.2.1", within=120)
    assert done.returncode == 1
    assert "Cannot reach every host over ssh (192.0.2.1" in done.stderr
    assert took < 60 and _no_rank_left()
