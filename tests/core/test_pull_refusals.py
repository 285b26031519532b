"""Refused pulls (gated, missing, bad names) leave the cache exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlxk_core.cache.store import store_snapshot
from mlxk_core.errors import GatedRepo, InvalidRequest, RepoNotFound
from mlxk_core.hub import parse_repo_ref, pull
from mlxk_core.settings import Settings
from tests.fakehub import FakeHub, fixtures, samples

hub = fixtures.hub
settings = fixtures.settings


@pytest.fixture
def lived_in_cache(hf_cache: Path) -> Path:
    """A cache that already holds a model, so 'unchanged' means something."""
    store_snapshot(hf_cache, "org/tiny-chat", samples.mlx_model(seed=7))
    return hf_cache


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("wrong-token", 403)])
def test_gated_repo_is_refused_before_anything_is_written(
    hub: FakeHub, lived_in_cache: Path, token: str | None, status: int
) -> None:
    hub.add_repo("org/gated", samples.mlx_model(), gated="manual", granted_tokens=("good",))
    before = fixtures.cache_picture(lived_in_cache)
    settings = Settings(cache_dir=lived_in_cache, hf_endpoint=hub.url, hf_token=token)

    with pytest.raises(GatedRepo) as info:
        pull("org/gated", settings=settings)

    assert f"{hub.url}/org/gated" in (info.value.hint or "")
    assert "HF_TOKEN" in (info.value.hint or "") and "hf auth login" in (info.value.hint or "")
    refused = [r for r in hub.requests if "/resolve/" in r.path]
    assert [(r.method, r.status) for r in refused] == [("HEAD", status)]
    assert fixtures.cache_picture(lived_in_cache) == before


def test_gated_repo_pulls_with_a_granted_token(hub: FakeHub, hf_cache: Path) -> None:
    hub.add_repo("org/gated", samples.mlx_model(), gated="auto", granted_tokens=("good",))
    settings = Settings(cache_dir=hf_cache, hf_endpoint=hub.url, hf_token="good")
    result = pull("org/gated", settings=settings)
    assert result.plan.gated and result.health.healthy


def test_missing_repo_names_close_cached_repos_and_writes_nothing(
    hub: FakeHub, settings: Settings, lived_in_cache: Path
) -> None:
    before = fixtures.cache_picture(lived_in_cache)
    with pytest.raises(RepoNotFound) as info:
        pull("org/tiny-chatt", settings=settings)
    assert "org/tiny-chat" in info.value.message
    assert fixtures.cache_picture(lived_in_cache) == before


def test_missing_revision_is_repo_not_found(
    hub: FakeHub, settings: Settings, lived_in_cache: Path
) -> None:
    hub.add_repo("org/tiny", samples.mlx_model())
    before = fixtures.cache_picture(lived_in_cache)
    with pytest.raises(RepoNotFound, match="Revision 'nope'"):
        pull("org/tiny@nope", settings=settings)
    assert fixtures.cache_picture(lived_in_cache) == before


@pytest.mark.parametrize(
    ("text", "repo_id", "revision"),
    [
        ("org/name", "org/name", None),
        ("gpt2", "gpt2", None),
        ("org/name@dev", "org/name", "dev"),
        ("org/Name-1.5B_x@refs/pr/1", "org/Name-1.5B_x", "refs/pr/1"),
    ],
)
def test_repo_refs_parse(text: str, repo_id: str, revision: str | None) -> None:
    ref = parse_repo_ref(text)
    assert (ref.repo_id, ref.revision) == (repo_id, revision)
    assert str(ref) == text


@pytest.mark.parametrize(
    "text", ["", "org/", "/name", "a/b/c", "../x", "org/na me", "org/name@", "org--x/y", "org/.."]
)
def test_invalid_repo_names_are_refused(text: str, hub: FakeHub, settings: Settings) -> None:
    with pytest.raises(InvalidRequest):
        pull(text, settings=settings)
    assert hub.requests == []


def test_two_different_revisions_are_refused(hub: FakeHub, settings: Settings) -> None:
    with pytest.raises(InvalidRequest, match="Two revisions"):
        pull("org/tiny@dev", revision="main", settings=settings)
