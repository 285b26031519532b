"""Map huggingface_hub and transport errors to mlxk errors, at the one place we call the hub."""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlxk_core.errors import (
    CacheError,
    GatedRepo,
    HubError,
    MlxkError,
    PullInterrupted,
    RepoNotFound,
)
from mlxk_core.hub.records import RepoRef
from mlxk_core.settings import Settings

__all__ = ["cached_repo_ids", "hub_errors", "offline_error"]


def cached_repo_ids(cache_dir: Path) -> list[str]:
    """Repo ids of the model repos in the cache (from folder names; nothing is read)."""
    try:
        names = sorted(p.name for p in Path(cache_dir).iterdir() if p.name.startswith("models--"))
    except OSError:
        return []
    return [name[len("models--") :].replace("--", "/") for name in names]


def offline_error(ref: RepoRef) -> HubError:
    """The error for a pull while HF_HUB_OFFLINE is set."""
    return HubError(
        f"Cannot pull {ref}: HF_HUB_OFFLINE is set, so the hub is not contacted",
        hint="unset HF_HUB_OFFLINE (or set it to 0) to download; cached models work offline",
    )


def _not_found(ref: RepoRef, settings: Settings) -> RepoNotFound:
    ids = cached_repo_ids(settings.cache_dir)
    lowered = {i.lower(): i for i in ids}
    close = [
        lowered[m] for m in difflib.get_close_matches(ref.repo_id.lower(), list(lowered), 3, 0.6)
    ]
    message = f"Repo '{ref.repo_id}' was not found on {settings.hf_endpoint}"
    if close:
        message += "; cached repos with close names: " + ", ".join(close)
    return RepoNotFound(
        message,
        hint="check the spelling (org/name); a private repo also needs HF_TOKEN or `hf auth login`",
    )


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def translate(exc: BaseException, ref: RepoRef, settings: Settings) -> MlxkError | None:
    """The mlxk error for a huggingface_hub / transport error, or None when it is not one."""
    import httpx2
    from huggingface_hub import errors as hf

    endpoint = settings.hf_endpoint
    if isinstance(exc, (hf.DryRunError, hf.LocalEntryNotFoundError)) and exc.__cause__:
        # huggingface_hub wraps the real failure (gated, missing, offline) in these
        found = translate(exc.__cause__, ref, settings)
        if found is not None:
            return found
    if (
        isinstance(exc, hf.GatedRepoError)
        or _status(exc) in (401, 403)
        and not isinstance(exc, hf.RepositoryNotFoundError)
    ):
        return GatedRepo(ref.repo_id, endpoint=endpoint)
    if isinstance(exc, hf.RevisionNotFoundError):
        return RepoNotFound(
            f"Revision '{ref.revision}' of '{ref.repo_id}' was not found on {endpoint}",
            hint="check the branch, tag or commit name on the repo's page",
        )
    if isinstance(exc, hf.RepositoryNotFoundError):
        return _not_found(ref, settings)
    if isinstance(exc, hf.OfflineModeIsEnabled):
        return offline_error(ref)
    if isinstance(exc, (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.ReadTimeout)) or (
        isinstance(exc, OSError) and "Consistency check failed" in str(exc)
    ):
        return PullInterrupted(
            f"The download of {ref} was cut off before it completed ({type(exc).__name__})",
            hint=f"run `mlxk pull {ref}` again: files already downloaded are kept",
        )
    if isinstance(
        exc,
        (httpx2.TransportError, hf.LocalEntryNotFoundError, hf.FileMetadataError, hf.DryRunError),
    ):
        return HubError(
            f"Could not reach the hub at {endpoint}",
            hint="check the network connection and HF_ENDPOINT, then retry",
        )
    if isinstance(exc, hf.HfHubHTTPError):
        return HubError(
            f"The hub at {endpoint} answered HTTP {_status(exc)} for {ref}",
            hint="retry later; if it persists, check the repo page",
        )
    if isinstance(exc, OSError) and exc.errno in (
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
    ):
        return CacheError(
            f"Could not write {ref} into {settings.cache_dir}: {exc.strerror}",
            hint="free disk space or point HF_HUB_CACHE at a writable disk, then pull again",
        )
    if type(exc).__module__.startswith(("huggingface_hub", "httpx2")):
        return HubError(f"Pulling {ref} failed: {exc}", hint="retry; set MLXK_DEBUG=1 for details")
    return None


@contextmanager
def hub_errors(ref: RepoRef, settings: Settings) -> Iterator[None]:
    """Re-raise hub and network errors from the block as mlxk errors (never a raw traceback)."""
    try:
        yield
    except MlxkError:
        raise
    except Exception as exc:
        mapped = translate(exc, ref, settings)
        if mapped is None:
            raise
        raise mapped from exc
