"""``pull``: preflight, plan, transfer with progress, then the health of what arrived."""

from __future__ import annotations

import threading
from collections.abc import Callable

from mlxk_core.hub.boundary import hub_errors
from mlxk_core.hub.preflight import plan_pull
from mlxk_core.hub.progress import ByteTracker
from mlxk_core.hub.records import PullPhase, PullPlan, PullProgress, PullResult
from mlxk_core.hub.refs import parse_repo_ref
from mlxk_core.hub.transfer import run_transfer
from mlxk_core.settings import Settings

__all__ = ["pull"]

ProgressCallback = Callable[[PullProgress], None]


def pull(
    repo: str,
    *,
    settings: Settings,
    revision: str | None = None,
    progress: ProgressCallback | None = None,
    force: bool = False,
) -> PullResult:
    """Download ``org/name[@revision]`` into the hub cache and check the health of what arrived.

    Nothing is written before the preflight passes (repo found, not gated for this token).
    ``progress`` is called from download threads: once with phase ``planned`` (sizes known),
    then ``downloading`` as bytes arrive, then ``finished``. ``force`` downloads files again
    even when cached. A repo without MLX-runnable weights is pulled with a warning in
    ``PullResult.warnings``. Ctrl-C stops the transfer and re-raises KeyboardInterrupt.
    """
    from mlxk_core.cache.facts import read_facts
    from mlxk_core.cache.health import check_health

    ref = parse_repo_ref(repo, revision)
    plan = plan_pull(ref, settings, force=force)
    total = plan.total_bytes if force else plan.download_bytes
    report = _reporter(plan, total, progress)
    report("planned", 0)
    tracker = ByteTracker(lambda n: report("downloading", n))
    with hub_errors(ref, settings):
        snapshot = run_transfer(plan, settings, tracker, force=force)
    report("finished", tracker.downloaded)
    return PullResult(
        plan=plan,
        snapshot_path=snapshot,
        downloaded_bytes=tracker.downloaded,
        health=check_health(snapshot),
        facts=read_facts(snapshot),
    )


def _reporter(
    plan: PullPlan, total: int, progress: ProgressCallback | None
) -> Callable[[PullPhase, int], None]:
    lock = threading.Lock()

    def report(phase: PullPhase, downloaded: int) -> None:
        if progress is None:
            return
        with lock:  # download threads report concurrently; callers see one call at a time
            progress(PullProgress(phase, plan, downloaded, total))

    return report
