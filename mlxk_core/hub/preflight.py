"""The preflight: ask the hub about a repo and plan the pull without writing to the cache."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlxk_core.errors import GatedRepo, HubError
from mlxk_core.hub.boundary import hub_errors, offline_error
from mlxk_core.hub.records import PlannedFile, PullPlan, RepoRef
from mlxk_core.settings import Settings

__all__ = ["plan_pull", "weights_warning"]

_PROBE_ORDER = ("config.json", "README.md")


def weights_warning(names: Sequence[str]) -> str | None:
    """Why a repo with these files will not run with MLX, or None when it looks runnable."""
    safetensors = any(n.endswith(".safetensors") for n in names)
    if safetensors and "config.json" in names:
        return None
    if any(n.endswith(".gguf") for n in names):
        return (
            "this repo holds GGUF weights, which will not run with MLX as they are; "
            "convert one with `mlxk import FILE.gguf`"
        )
    if any(n.endswith((".bin", ".pt", ".pth")) for n in names):
        return (
            "this repo holds PyTorch weights only (no safetensors): it will not run with MLX; "
            "look for an MLX conversion of it (for example on mlx-community)"
        )
    if safetensors:
        return "this repo has no config.json: it will not run with MLX"
    return "this repo has no model weights: nothing in it will run with MLX"


def _probe_file(names: Sequence[str]) -> str | None:
    for name in _PROBE_ORDER:
        if name in names:
            return name
    return min(names, default=None)


def plan_pull(ref: RepoRef, settings: Settings, *, force: bool = False) -> PullPlan:
    """Check the repo, its gate and the access to one file, then list files and sizes.

    Writes nothing: the revision is pinned to its commit before the dry run, so even
    huggingface_hub's ref bookkeeping does not run. Raises GatedRepo, RepoNotFound or HubError.
    """
    if settings.offline:
        raise offline_error(ref)
    from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url, snapshot_download

    token = settings.hf_token
    endpoint = settings.hf_endpoint
    with hub_errors(ref, settings):
        info = HfApi(endpoint=endpoint, token=token).model_info(ref.repo_id, revision=ref.revision)
        commit = info.sha
        if not commit:
            raise HubError(f"The hub sent no commit for {ref}", hint="check HF_ENDPOINT")
        names = [s.rfilename for s in info.siblings or ()]
        probe = _probe_file(names)
        if probe is not None:
            url = hf_hub_url(ref.repo_id, probe, revision=commit, endpoint=endpoint)
            get_hf_file_metadata(url, token=token, endpoint=endpoint)
        elif info.gated:
            raise GatedRepo(ref.repo_id, endpoint=endpoint)
        listing: Any = snapshot_download(
            ref.repo_id,
            revision=commit,
            cache_dir=settings.cache_dir,
            endpoint=endpoint,
            token=token,
            force_download=force,
            dry_run=True,
            tqdm_class=_silent_tqdm(),
        )
    files = tuple(
        sorted(
            (
                PlannedFile(f.filename, f.file_size, f.is_cached and not f.will_download)
                for f in listing
            ),
            key=lambda f: f.name,
        )
    )
    warning = weights_warning([f.name for f in files])
    return PullPlan(
        repo_id=ref.repo_id,
        revision=ref.revision or "main",
        commit_hash=commit,
        gated=bool(info.gated),
        files=files,
        warnings=(warning,) if warning else (),
    )


def _silent_tqdm() -> type[Any]:
    from mlxk_core.hub.progress import ByteTracker

    return ByteTracker(lambda _n: None).tqdm_class()
