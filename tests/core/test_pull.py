"""`pull` against a fake hub on loopback: layout, revisions, progress, warnings, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlxk_core.cache.index import CacheIndex
from mlxk_core.errors import HubError
from mlxk_core.hub import PullProgress, pull
from mlxk_core.settings import Settings
from tests.fakehub import FakeHub, files_from_dir, fixtures, samples

hub = fixtures.hub
settings = fixtures.settings


def test_pull_writes_the_real_hub_layout_and_a_healthy_model(
    hub: FakeHub, settings: Settings, hf_cache: Path
) -> None:
    files = samples.mlx_model()
    repo = hub.add_repo("org/tiny", files)
    result = pull("org/tiny", settings=settings)

    commit = repo.refs["main"]
    repo_dir = hf_cache / "models--org--tiny"
    assert result.commit_hash == commit
    assert result.snapshot_path == repo_dir / "snapshots" / commit
    assert (repo_dir / "refs" / "main").read_text() == commit
    for name, data in files.items():
        link = result.snapshot_path / name
        assert link.is_symlink() and link.resolve().parent == repo_dir / "blobs"
        assert link.read_bytes() == data
    assert result.health.healthy, result.health.reasons
    assert result.facts.framework == "mlx"
    assert result.downloaded_bytes == sum(len(d) for d in files.values())
    assert result.warnings == ()

    model, revision = CacheIndex(hf_cache).get("org/tiny")
    assert model.healthy and revision.commit_hash == commit


def test_a_sharded_model_arrives_healthy(hub: FakeHub, settings: Settings) -> None:
    hub.add_repo("org/sharded", samples.sharded_mlx_model())
    result = pull("org/sharded", settings=settings)
    assert result.health.healthy, result.health.reasons
    assert len(result.plan.files) == len(samples.sharded_mlx_model())


def test_revision_branch_tag_and_commit_are_honoured(
    hub: FakeHub, settings: Settings, hf_cache: Path
) -> None:
    repo = hub.add_repo("org/tiny", samples.mlx_model(seed=0))
    first = repo.refs["main"]
    repo.tag("v1", first)
    dev_files = samples.mlx_model(seed=1)
    dev = repo.commit(dev_files, branch="dev")
    refs = hf_cache / "models--org--tiny" / "refs"

    on_dev = pull("org/tiny@dev", settings=settings)
    assert on_dev.commit_hash == dev and on_dev.revision == "dev"
    assert (on_dev.snapshot_path / "model.safetensors").read_bytes() == dev_files[
        "model.safetensors"
    ]
    assert sorted(os.listdir(refs)) == ["dev"]

    tagged = pull("org/tiny", revision="v1", settings=settings)
    assert tagged.commit_hash == first
    assert (refs / "v1").read_text() == first

    pinned = pull(f"org/tiny@{dev}", settings=settings)
    assert pinned.commit_hash == dev and pinned.downloaded_bytes == 0
    assert sorted(os.listdir(refs)) == ["dev", "v1"]  # a commit hash is not a ref


def test_progress_reports_the_total_first_then_bytes_then_finished(
    hub: FakeHub, settings: Settings
) -> None:
    files = samples.mlx_model()
    hub.add_repo("org/tiny", files)
    events: list[PullProgress] = []
    pull("org/tiny", settings=settings, progress=events.append)

    total = sum(len(d) for d in files.values())
    assert events[0].phase == "planned" and events[0].downloaded_bytes == 0
    assert events[0].total_bytes == total == events[0].plan.download_bytes
    middle = [e for e in events if e.phase == "downloading"]
    assert middle, "no byte updates"
    counts = [e.downloaded_bytes for e in middle]
    assert counts == sorted(counts) and counts[-1] == total
    assert events[-1].phase == "finished" and events[-1].fraction == 1.0


def test_second_pull_downloads_nothing_and_reports_cached_files(
    hub: FakeHub, settings: Settings
) -> None:
    hub.add_repo("org/tiny", samples.mlx_model())
    pull("org/tiny", settings=settings)
    gets = len(hub.file_gets(""))
    again = pull("org/tiny", settings=settings)
    assert again.downloaded_bytes == 0
    assert len(again.plan.cached_files) == len(again.plan.files) == 5
    assert len(hub.file_gets("")) == gets
    assert again.health.healthy


def test_force_downloads_cached_files_again(hub: FakeHub, settings: Settings) -> None:
    files = samples.mlx_model()
    hub.add_repo("org/tiny", files)
    pull("org/tiny", settings=settings)
    forced = pull("org/tiny", settings=settings, force=True)
    assert forced.downloaded_bytes == sum(len(d) for d in files.values())
    assert forced.health.healthy


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        (samples.gguf_only_repo(), "`mlxk import"),
        (samples.pytorch_only_repo(), "PyTorch weights only"),
    ],
)
def test_repo_without_mlx_weights_is_pulled_with_a_warning(
    hub: FakeHub, settings: Settings, files: dict[str, bytes], needle: str
) -> None:
    hub.add_repo("org/other", files)
    result = pull("org/other", settings=settings)
    assert len(result.warnings) == 1 and needle in result.warnings[0]
    assert "will not run with MLX" in result.warnings[0]
    assert sorted(os.listdir(result.snapshot_path)) == sorted(files)


def test_offline_mode_fails_clearly_without_contacting_the_hub(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, hf_cache: Path
) -> None:
    hub.add_repo("org/tiny", samples.mlx_model())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubError, match="HF_HUB_OFFLINE") as info:
        pull("org/tiny", settings=Settings.from_env())
    assert "unset HF_HUB_OFFLINE" in (info.value.hint or "")
    assert hub.requests == []
    assert os.listdir(hf_cache) == []


def test_unreachable_hub_is_a_hub_error(hf_cache: Path) -> None:
    dead = Settings(cache_dir=hf_cache, hf_endpoint="http://127.0.0.1:9")
    with pytest.raises(HubError, match="Could not reach"):
        pull("org/tiny", settings=dead)
    assert os.listdir(hf_cache) == []


@pytest.mark.slow
def test_a_factory_model_served_by_the_hub_arrives_byte_identical_and_healthy(
    hub: FakeHub, settings: Settings, tmp_path: Path
) -> None:
    from tests.factory import build_model, snapshot_dir

    source = tmp_path / "source-cache"
    repo_id = build_model("chat", source)
    files = files_from_dir(snapshot_dir(source, repo_id))
    hub.add_repo(repo_id, files)

    result = pull(repo_id, settings=settings)
    assert result.health.healthy, result.health.reasons
    assert result.facts.framework == "mlx" and result.facts.model_type == "chat"
    assert files_from_dir(result.snapshot_path) == files
