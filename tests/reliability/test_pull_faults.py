"""Pull faults: dropped connections, truncated or corrupted files, a full disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlxk_core.errors import CacheError, PullInterrupted
from mlxk_core.hub import pull
from mlxk_core.settings import Settings
from tests.fakehub import FakeHub, Fault, fixtures, samples
from tests.reliability.pulltools import (
    assert_no_healthy_half_model,
    assert_told,
    enospc_after,
    mlxk,
    tmpfs,
)
from tests.reliability.recorder import Figures

hub = fixtures.hub
settings = fixtures.settings
no_retry_wait = fixtures.no_retry_wait

REPO = "org/tiny"
WEIGHTS = "model.safetensors"
FILES = samples.mlx_model()
CUT_OFF = "was cut off"
CORRUPTED = "arrived corrupted"


def _flip(data: bytes) -> bytes:
    """The same bytes with one flipped in the middle (same size, different checksum)."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


# name -> (file, fault, what the user is told)
FAULTS: dict[str, tuple[str, Callable[[bytes], Fault], str]] = {
    "connection dropped mid-file, every retry": (
        WEIGHTS, lambda d: Fault(drop_at=len(d) // 3, times=None), CUT_OFF),
    "truncated: Content-Length larger than the body, then close": (
        WEIGHTS, lambda d: Fault(drop_at=len(d) - 1, times=None), CUT_OFF),
    "short body: fewer bytes than X-Linked-Size announced": (
        WEIGHTS, lambda d: Fault(body=d[:-4096], times=None), CUT_OFF),
    "long body: more bytes than X-Linked-Size announced": (
        WEIGHTS, lambda d: Fault(body=d + bytes(4096), times=None), CUT_OFF),
    "LFS weights with a wrong sha256, right size": (
        WEIGHTS, lambda d: Fault(body=_flip(d), times=None), CORRUPTED),
    "small file with a wrong git blob id, right size": (
        "tokenizer.json", lambda d: Fault(body=_flip(d), times=None), CORRUPTED),
    "config.json (fetched last) with a wrong git blob id": (
        "config.json", lambda d: Fault(body=_flip(d), times=None), CORRUPTED),
    "config.json (fetched last) dropped every time": (
        "config.json", lambda d: Fault(drop_at=len(d) // 2, times=None), CUT_OFF),
}
FAST = {"connection dropped mid-file, every retry", "LFS weights with a wrong sha256, right size"}


def _fault_kind(fault: Fault) -> str:
    return "connection dropped" if fault.drop_at is not None else (
        "download damaged (wrong size or checksum)")


def _second_pull_completes(hub: FakeHub, cache: Path, figures: Figures) -> None:
    for repo in hub.repos.values():
        repo.faults.clear()
    result = mlxk("pull", REPO)
    assert result.exit_code == 0, result.stderr
    assert "healthy" in result.stdout and "UNHEALTHY" not in result.stdout
    snapshot = next((cache / "models--org--tiny" / "snapshots").iterdir())
    assert {p.name: p.read_bytes() for p in snapshot.iterdir()} == FILES
    figures.answer()
    listed = mlxk("list", "--health", "--json")
    assert "true" in listed.stdout.split('"healthy":')[1][:6]
    figures.answer()


@pytest.mark.parametrize(
    "case",
    [pytest.param(name, marks=() if name in FAST else pytest.mark.reliability) for name in FAULTS],
)
def test_pull_fault_is_told_leaves_no_healthy_half_model_and_resumes(
    case: str, hub: FakeHub, hf_cache: Path, no_retry_wait: None, figures: Figures
) -> None:
    """Each transfer fault: exit 1 with one clear line, nothing healthy listed, next pull whole."""
    name, make_fault, phrase = FAULTS[case]
    hub.add_repo(REPO, FILES)
    fault = hub.fault(REPO, name, make_fault(FILES[name]))

    result = mlxk("pull", REPO)
    figures.fault(_fault_kind(fault), fault.hits)
    assert fault.hits >= 1
    assert_told(result, phrase, f"mlxk pull {REPO}")
    assert_no_healthy_half_model(hf_cache)
    _second_pull_completes(hub, hf_cache, figures)


def test_a_corrupted_download_raises_pull_interrupted_and_keeps_the_good_files(
    hub: FakeHub, settings: Settings, hf_cache: Path, figures: Figures
) -> None:
    """Library view: PullInterrupted names the bad file; good files are kept, not re-fetched."""
    hub.add_repo(REPO, FILES)
    hub.fault(REPO, WEIGHTS, Fault(body=_flip(FILES[WEIGHTS])))
    with pytest.raises(PullInterrupted, match=WEIGHTS) as info:
        pull(REPO, settings=settings)
    figures.fault("download damaged (wrong size or checksum)")
    assert f"mlxk pull {REPO}" in (info.value.hint or "")
    blobs = hf_cache / "models--org--tiny" / "blobs"
    kept = {p.name for p in blobs.iterdir()}
    assert len(kept) == len(FILES) - 2  # neither the weights nor config.json (fetched last)
    before = len(hub.requests)
    result = pull(REPO, settings=settings)
    assert result.health.healthy
    fetched = {r.path.rsplit("/", 1)[-1] for r in hub.requests[before:] if r.method == "GET"}
    assert "tokenizer.json" not in fetched and "README.md" not in fetched
    figures.answer()


def _told_disk_full_then_resumed(
    hub: FakeHub, cache: Path, figures: Figures, free_space: Callable[[], None]
) -> None:
    result = mlxk("pull", REPO)
    figures.fault("disk full")
    assert_told(result, "No space left on device", "free disk space")
    assert_no_healthy_half_model(cache)
    free_space()
    _second_pull_completes(hub, cache, figures)


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub: FakeHub):
    """The hub cache on a 128 KiB tmpfs (the weights need 240 KB); yields a resize function."""
    cache = tmp_path / "small-disk"
    with tmpfs(cache, 128) as resize:
        monkeypatch.setenv("HF_HUB_CACHE", str(cache))
        yield cache, resize


@pytest.mark.reliability
@pytest.mark.filterwarnings("ignore:Not enough free disk space")
def test_disk_full_on_a_real_small_filesystem(
    small_disk: tuple[Path, Callable[[int], None]], hub: FakeHub, figures: Figures
) -> None:
    """A full disk (a 128 KiB tmpfs): told to free space, nothing healthy, next pull completes."""
    cache, resize = small_disk
    hub.add_repo(REPO, FILES)
    _told_disk_full_then_resumed(hub, cache, figures, lambda: resize(4096))


def test_disk_full_simulated_in_process(
    hub: FakeHub, hf_cache: Path, monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    """A full disk (ENOSPC from the writer, in-process): CacheError, nothing healthy, resumes."""
    hub.add_repo(REPO, FILES)
    free = enospc_after(monkeypatch, 100_000)
    with pytest.raises(CacheError, match="No space left"):
        pull(REPO, settings=Settings.from_env())
    figures.fault("disk full")
    _told_disk_full_then_resumed(hub, hf_cache, figures, free)
