"""The JSON bodies of the hub API routes the fake hub answers."""

from __future__ import annotations

from collections.abc import Mapping

from tests.fakehub.repos import FakeRepo, RepoFileEntry


def model_info(repo: FakeRepo, commit: str) -> dict[str, object]:
    """The JSON of /api/models/{repo}[/revision/{rev}]."""
    files = repo.commits[commit]
    return {
        "_id": commit[:24],
        "id": repo.repo_id,
        "modelId": repo.repo_id,
        "sha": commit,
        "private": False,
        "gated": repo.gated,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "lastModified": "2025-01-01T00:00:00.000Z",
        "createdAt": "2025-01-01T00:00:00.000Z",
        "siblings": [{"rfilename": name} for name in sorted(files)],
    }


def tree_listing(files: Mapping[str, RepoFileEntry]) -> list[dict[str, object]]:
    """The JSON of /api/models/{repo}/tree/{rev} (always recursive, one page)."""
    folders = sorted(
        {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    )
    listing: list[dict[str, object]] = [
        {"type": "directory", "oid": "0" * 40, "size": 0, "path": folder} for folder in folders
    ]
    for name in sorted(files):
        entry = files[name]
        item: dict[str, object] = {
            "type": "file",
            "oid": entry.git_oid,
            "size": len(entry.data),
            "path": name,
        }
        if entry.lfs:
            item["lfs"] = {"oid": entry.sha256, "size": len(entry.data), "pointerSize": 134}
        listing.append(item)
    return listing
