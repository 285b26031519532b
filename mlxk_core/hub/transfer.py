"""Run the planned download so that an interrupted one never looks like a complete model.

The files arrive through huggingface_hub (temporary ``.incomplete`` files renamed into
``blobs/`` when whole). ``config.json`` is fetched last and the ref (``refs/main``) is written
after it, so a cut-off pull leaves a snapshot that is unhealthy (no config) and that no ref
names; a second pull skips the files already there. Each phase's new files are checked
against their checksums (hub.verify) before the next phase starts.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Any

from mlxk_core.hub.progress import ByteTracker
from mlxk_core.hub.records import PullPlan, RepoRef
from mlxk_core.hub.verify import verify_downloads
from mlxk_core.settings import Settings

__all__ = ["LAST_FILE", "run_transfer"]

LAST_FILE = "config.json"
_POLL_S = 0.1


def _download(plan: PullPlan, settings: Settings, tracker: ByteTracker, force: bool) -> Path:
    from huggingface_hub import snapshot_download

    names = {f.name for f in plan.files}
    fresh = {f.name for f in plan.files if force or not f.cached}  # checked once arrived
    phases: list[tuple[dict[str, Any], set[str]]] = [
        ({"ignore_patterns": [LAST_FILE]}, fresh - {LAST_FILE})
    ]
    if LAST_FILE in names:
        phases.append(({"allow_patterns": [LAST_FILE]}, fresh & {LAST_FILE}))
    path = ""
    ref = RepoRef(plan.repo_id, None if plan.revision == "main" else plan.revision)
    for patterns, arriving in phases:
        tracker.begin_phase()
        path = snapshot_download(
            plan.repo_id,
            revision=plan.commit_hash,
            cache_dir=settings.cache_dir,
            endpoint=settings.hf_endpoint,
            token=settings.hf_token,
            force_download=force,
            tqdm_class=tracker.tqdm_class(),
            **patterns,
        )
        verify_downloads(Path(path), arriving, ref)
    snapshot = Path(path)
    _write_ref(snapshot.parent.parent, plan.revision, plan.commit_hash)
    return snapshot


def _write_ref(repo_dir: Path, revision: str, commit: str) -> None:
    """Point ``refs/<revision>`` at ``commit`` atomically (nothing to do for a commit hash)."""
    if revision == commit:
        return
    ref = repo_dir / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    tmp = ref.with_name(f".{ref.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(commit)
    os.replace(tmp, ref)


def run_transfer(plan: PullPlan, settings: Settings, tracker: ByteTracker, *, force: bool) -> Path:
    """Download in a worker thread; on KeyboardInterrupt stop the downloads, then re-raise.

    Downloads notice the cancel at their next chunk and huggingface_hub deletes their
    temporary files, so nothing partial is renamed into the cache.
    """
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["path"] = _download(plan, settings, tracker, force)
        except BaseException as exc:  # handed to the calling thread below
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="mlxk-pull", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(_POLL_S)
    except KeyboardInterrupt:
        tracker.cancel.set()
        worker.join()
        raise
    if "error" in outcome:
        error: BaseException = outcome["error"]
        raise error
    path: Path = outcome["path"]
    return path
