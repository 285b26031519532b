"""`mlxk pull` in-process: the JSON envelope, plain progress lines, --quiet, refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import Result

from tests.fakehub import FakeHub, fixtures, samples

hub = fixtures.hub


def test_json_envelope_reports_what_was_downloaded(
    hub: FakeHub, cli: Callable[..., Result], hf_cache: Path
) -> None:
    files = samples.mlx_model()
    repo = hub.add_repo("org/tiny", files)
    result = cli("pull", "org/tiny", "--json")
    assert result.exit_code == 0, result.stderr

    doc = json.loads(result.stdout)
    assert doc["command"] == "pull" and doc["error"] is None
    data = doc["data"]
    assert data["repo"] == "org/tiny" and data["revision"] == "main"
    assert data["commit"] == repo.refs["main"]
    assert sorted(f["name"] for f in data["files"]) == sorted(files)
    assert data["downloaded_bytes"] == data["total_bytes"] == sum(map(len, files.values()))
    assert data["health"] == {"healthy": True, "reasons": []}
    assert data["facts"]["framework"] == "mlx"
    assert Path(data["snapshot"]).parent.parent == hf_cache / "models--org--tiny"
    assert "Pulling org/tiny@main" in result.stderr  # progress lines stay off stdout


def test_plain_lines_show_the_total_before_and_a_summary_after(
    hub: FakeHub, cli: Callable[..., Result]
) -> None:
    hub.add_repo("org/tiny", samples.mlx_model())
    hub.repos["org/tiny"].commit(samples.mlx_model(seed=3), branch="dev")
    result = cli("pull", "org/tiny@dev")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Pulling org/tiny@dev") and "240.7 KB to download" in lines[0]
    assert any(line.strip().startswith("100%") for line in lines)
    assert "Pulled org/tiny@dev" in result.stdout and "healthy" in result.stdout


def test_quiet_prints_only_the_final_line(hub: FakeHub, cli: Callable[..., Result]) -> None:
    hub.add_repo("org/tiny", samples.mlx_model())
    result = cli("pull", "org/tiny", "--quiet")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [result.stdout.strip()]
    assert result.stdout.startswith("Pulled org/tiny@main")


def test_gguf_repo_is_pulled_with_a_warning(hub: FakeHub, cli: Callable[..., Result]) -> None:
    hub.add_repo("org/tiny-gguf", samples.gguf_only_repo())
    result = cli("pull", "org/tiny-gguf")
    assert result.exit_code == 0
    assert "Warning:" in result.stdout and "mlxk import" in result.stdout


def test_gated_repo_exits_1_with_the_hint(hub: FakeHub, cli: Callable[..., Result]) -> None:
    hub.add_repo("org/gated", samples.mlx_model(), gated="manual")
    result = cli("pull", "org/gated")
    assert result.exit_code == 1
    assert "gated" in result.stderr and "HF_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout

    as_json = json.loads(cli("pull", "org/gated", "--json").stdout)
    assert as_json["error"]["type"] == "gated_repo" and as_json["data"] is None


def test_missing_repo_exits_1(hub: FakeHub, cli: Callable[..., Result]) -> None:
    result = cli("pull", "org/missing", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "repo_not_found"
