"""`mlxk rm`: a plan first, confirmation on a terminal, --force elsewhere, blobs kept consistent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlxk_cli.commands import rm as rm_cmd


def _listed(cli) -> list[str]:
    return [m["name"] for m in json.loads(cli("list", "--all", "--json").stdout)["data"]["models"]]


def test_refuses_without_force_when_stdin_is_not_a_tty(cli, repos):
    snapshot = repos.mlx()
    result = cli("rm", "mlx-community/Tiny-4bit")
    assert result.exit_code == 1
    assert "Will delete" in result.stdout  # the plan is still shown
    assert "--force" in result.stderr
    assert snapshot.exists() and _listed(cli) == ["mlx-community/Tiny-4bit"]
    doc = json.loads(cli("rm", "mlx-community/Tiny-4bit", "--json").stdout)
    assert doc["error"]["type"] == "confirmation_required"
    assert doc["data"]["deleted"] is False and doc["data"]["whole_repo"] is True
    assert snapshot.exists()


def test_force_deletes_the_whole_model_and_reports_space(cli, repos, hf_cache: Path):
    repos.mlx()
    repos.gguf()
    result = cli("rm", "mlx-community/Tiny-4bit", "--force", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)["data"]
    assert data["deleted"] is True and data["freed"] > 4096
    assert _listed(cli) == ["bartowski/Tiny-GGUF"]
    assert not (hf_cache / "models--mlx-community--Tiny-4bit").exists()


def test_human_plan_shows_what_and_space_freed(cli, repos):
    repos.mlx()
    result = cli("rm", "mlx-community/Tiny-4bit", "--force")
    assert result.exit_code == 0
    assert "Will delete" in result.stdout and "whole model" in result.stdout
    assert "Space freed:" in result.stdout and "KB" in result.stdout
    assert "Deleted mlx-community/Tiny-4bit" in result.stdout


def test_confirmation_on_a_tty(cli, repos, monkeypatch: pytest.MonkeyPatch):
    snapshot = repos.mlx()
    monkeypatch.setattr(rm_cmd, "stdin_is_tty", lambda: True)
    declined = cli("rm", "mlx-community/Tiny-4bit", input="n\n")
    assert declined.exit_code == 0 and "Nothing deleted" in declined.stdout
    assert snapshot.exists()
    accepted = cli("rm", "mlx-community/Tiny-4bit", input="y\n")
    assert accepted.exit_code == 0 and "Deleted" in accepted.stdout
    assert _listed(cli) == []


def test_removing_one_revision_keeps_blobs_shared_with_another(cli, repos):
    old, new = repos.two_revisions()
    shared_weights = (new / "model.safetensors").resolve()
    assert shared_weights == (old / "model.safetensors").resolve()
    old_only = (old / "README.md").resolve()
    result = cli("rm", "mlx-community/Tiny-4bit@1111111", "--force", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)["data"]
    assert data["whole_repo"] is False and data["revisions"] == ["1" * 40]
    assert 0 < data["freed"] < shared_weights.stat().st_size
    assert not old.exists() and not old_only.exists()
    assert shared_weights.exists()
    assert (new / "model.safetensors").read_bytes() == shared_weights.read_bytes()
    show = json.loads(cli("show", "mlx-community/Tiny-4bit", "--json").stdout)["data"]
    assert show["commit"] == "2" * 40 and show["health"]["healthy"] is True
    assert [r["commit"] for r in show["revisions"]] == ["2" * 40]


def test_unknown_model_exits_1_with_suggestions(cli, repos):
    repos.mlx()
    result = cli("rm", "mlx-community/Tiny-4bt", "--force")
    assert result.exit_code == 1
    assert "not found" in result.stderr and "mlx-community/Tiny-4bit" in result.stderr
    assert _listed(cli) == ["mlx-community/Tiny-4bit"]


@pytest.mark.parametrize("name", ["../x", "../../outside", "/etc", "models--a--b/../../outside"])
def test_traversal_names_are_refused(cli, repos, hf_cache: Path, name: str):
    repos.mlx()
    outside = hf_cache.parent / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    result = cli("rm", name, "--force", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "unsafe_path"
    assert (outside / "keep.txt").read_text() == "precious"
    assert _listed(cli) == ["mlx-community/Tiny-4bit"]


def test_revision_that_looks_like_a_path_deletes_nothing(cli, repos):
    snapshot = repos.mlx()
    result = cli("rm", "mlx-community/Tiny-4bit@../../..", "--force")
    assert result.exit_code == 1
    assert snapshot.exists() and _listed(cli) == ["mlx-community/Tiny-4bit"]


def test_missing_model_argument_is_a_usage_error(cli):
    assert cli("rm").exit_code == 2
