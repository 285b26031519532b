"""`mlxk list`: what a user sees for an empty, mixed and broken cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_empty_cache_lists_nothing_and_exits_0(cli):
    result = cli("list")
    assert result.exit_code == 0
    assert "No models found" in result.stdout
    doc = json.loads(cli("list", "--json").stdout)
    assert doc["data"] == {"models": [], "hidden": 0, "warnings": []}
    assert doc["error"] is None


def test_missing_cache_dir_is_an_empty_cache(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "does-not-exist"))
    result = cli("list", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["data"]["models"] == []


def test_json_envelope_on_success(cli, repos):
    repos.mlx()
    result = cli("list", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert set(doc) == {"schema_version", "command", "data", "error"}
    assert doc["schema_version"] == "1" and doc["command"] == "list" and doc["error"] is None
    (entry,) = doc["data"]["models"]
    assert entry["name"] == "mlx-community/Tiny-4bit"
    assert len(entry["commit"]) == 40
    assert entry["framework"] == "mlx" and entry["type"] == "chat"
    assert entry["size"] > 4096 and entry["revisions"] == 1
    assert entry["health"] == {"healthy": True, "reasons": []}
    assert entry["modified"].endswith("Z")


def test_default_shows_mlx_only_and_all_shows_every_framework(cli, repos):
    repos.mlx()
    repos.pytorch()
    repos.gguf()
    default = json.loads(cli("list", "--json").stdout)["data"]
    assert [m["name"] for m in default["models"]] == ["mlx-community/Tiny-4bit"]
    assert default["hidden"] == 2
    everything = json.loads(cli("list", "--all", "--json").stdout)["data"]
    frameworks = {m["name"]: m["framework"] for m in everything["models"]}
    assert frameworks == {
        "bartowski/Tiny-GGUF": "gguf",
        "meta/Tiny-HF": "pytorch",
        "mlx-community/Tiny-4bit": "mlx",
    }
    assert everything["hidden"] == 0
    human = cli("list")
    assert "2 non-MLX model(s) hidden" in human.stdout
    assert "meta/Tiny-HF" not in human.stdout


def test_pattern_filters_case_insensitively_on_repo_id(cli, repos):
    repos.mlx("mlx-community/Qwen-Tiny-4bit")
    repos.mlx("mlx-community/Llama-Tiny-4bit")
    names = [m["name"] for m in json.loads(cli("list", "qwen", "--json").stdout)["data"]["models"]]
    assert names == ["mlx-community/Qwen-Tiny-4bit"]
    assert "Llama" not in cli("list", "QWEN").stdout


def test_human_table_has_aligned_columns_and_readable_values(cli, repos):
    snapshot = repos.mlx()
    result = cli("list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    header = lines[0].split()
    assert header == ["NAME", "ID", "SIZE", "MODIFIED", "FRAMEWORK", "TYPE"]
    row = lines[1]
    assert row.startswith("mlx-community/Tiny-4bit")
    assert snapshot.name[:8] in row
    assert " KB" in row and "MLX" in row and "chat" in row
    assert "just now" in row or "ago" in row
    # aligned: the ID column starts at the same offset in header and row
    assert lines[0].index("ID") == row.index(snapshot.name[:8])


def test_health_column_shows_unhealthy_models_with_reasons(cli, repos):
    repos.mlx()
    repos.lfs_pointer()
    plain = cli("list")
    assert "HEALTH" not in plain.stdout
    result = cli("list", "--health")
    assert result.exit_code == 0
    assert "HEALTH" in result.stdout
    text = " ".join(result.stdout.split())
    assert "unhealthy" in text and "LFS" in text.upper()
    entries = json.loads(cli("list", "--json").stdout)["data"]["models"]
    broken = next(m for m in entries if m["name"] == "mlx-community/Broken-4bit")
    assert broken["health"]["healthy"] is False and broken["health"]["reasons"]


def test_unknown_option_is_a_usage_error(cli):
    result = cli("list", "--bogus")
    assert result.exit_code == 2
    assert "No such option" in result.stderr


def test_piped_output_never_cuts_long_names(cli, repos):
    long_name = "mlx-community/Meta-Llama-3.1-8B-Instruct-abliterated-4bit-mixed-precision"
    repos.mlx(long_name)
    result = cli("list", "--all", "--health")
    row = next(line for line in result.stdout.splitlines() if line.startswith("mlx-community/"))
    assert row.split()[0] == long_name
    assert row.split()[-1] == "ok"
