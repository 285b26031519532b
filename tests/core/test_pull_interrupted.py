"""Dropped connections and Ctrl-C: no half model looks healthy; a second pull completes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlxk_core.cache.health import check_health
from mlxk_core.cache.index import CacheIndex
from mlxk_core.errors import PullInterrupted
from mlxk_core.hub import PullProgress, pull
from mlxk_core.settings import Settings
from tests.fakehub import FakeHub, Fault, fixtures, samples

hub = fixtures.hub
settings = fixtures.settings
no_retry_wait = fixtures.no_retry_wait

WEIGHTS = "model.safetensors"


def _assert_half_model_is_not_healthy(cache: Path, commit: str) -> None:
    repo_dir = cache / "models--org--tiny"
    assert not (repo_dir / "refs").exists() or not any((repo_dir / "refs").iterdir())
    assert not list(repo_dir.glob("blobs/*.incomplete")), "a partial download was left behind"
    snapshot = repo_dir / "snapshots" / commit
    assert not (snapshot / WEIGHTS).exists()
    assert not check_health(snapshot).healthy
    assert not any(model.healthy for model in CacheIndex(cache).models())


def _resume(hub: FakeHub, settings: Settings, files: dict[str, bytes]) -> None:
    """A second pull completes the model and fetches no file that had already arrived."""
    already = {p.name for p in (settings.cache_dir / "models--org--tiny" / "blobs").iterdir()}
    before = len(hub.requests)
    result = pull("org/tiny", settings=settings)
    assert result.health.healthy, result.health.reasons
    cached = {f.name for f in result.plan.cached_files}
    assert WEIGHTS not in cached and "config.json" not in cached
    assert len(cached) == len(already)
    refetched = [r.path for r in hub.requests[before:] if r.method == "GET"]
    assert not [p for p in refetched for name in cached if p.endswith("/" + name)]
    assert (result.snapshot_path / WEIGHTS).read_bytes() == files[WEIGHTS]


def test_a_connection_dropped_once_is_resumed_within_the_pull(
    hub: FakeHub, settings: Settings, no_retry_wait: None
) -> None:
    # huggingface_hub writes in 10 MiB chunks: past the first one, a retry asks for the rest
    files = samples.mlx_model(weight_floats=3_000_000)
    hub.add_repo("org/tiny", files)
    hub.fault("org/tiny", WEIGHTS, Fault(drop_at=11_000_000))
    events: list[PullProgress] = []
    result = pull("org/tiny", settings=settings, progress=events.append)
    assert result.health.healthy
    assert (result.snapshot_path / WEIGHTS).read_bytes() == files[WEIGHTS]
    ranges = [r.headers.get("range") for r in hub.requests if r.path.startswith("/_lfs/")]
    assert ranges == [None, f"bytes={10 * 1024 * 1024}-"]
    assert events[-1].downloaded_bytes == events[-1].total_bytes


def test_a_connection_that_keeps_dropping_leaves_no_healthy_half_model(
    hub: FakeHub, settings: Settings, hf_cache: Path, no_retry_wait: None
) -> None:
    files = samples.mlx_model()
    repo = hub.add_repo("org/tiny", files)
    fault = hub.fault("org/tiny", WEIGHTS, Fault(drop_at=100_000, times=None))

    with pytest.raises(PullInterrupted) as info:
        pull("org/tiny", settings=settings)
    assert "mlxk pull org/tiny" in (info.value.hint or "")
    assert fault.hits > 1  # huggingface_hub retried before giving up
    _assert_half_model_is_not_healthy(hf_cache, repo.refs["main"])

    repo.faults.clear()
    _resume(hub, settings, files)


def test_ctrl_c_stops_the_pull_and_a_second_pull_completes(
    hub: FakeHub, settings: Settings, hf_cache: Path
) -> None:
    files = samples.mlx_model()
    repo = hub.add_repo("org/tiny", files)

    def interrupt(event: PullProgress) -> None:
        if event.phase == "downloading":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pull("org/tiny", settings=settings, progress=interrupt)
    _assert_half_model_is_not_healthy(hf_cache, repo.refs["main"])
    _resume(hub, settings, files)
