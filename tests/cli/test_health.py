"""`mlxk health`: exit 0 when every checked model is sound, 1 (with reasons) otherwise."""

from __future__ import annotations

import json


def test_all_healthy_exits_0(cli, repos):
    repos.mlx()
    repos.gguf()
    result = cli("health")
    assert result.exit_code == 0
    assert "mlx-community/Tiny-4bit" in result.stdout and "bartowski/Tiny-GGUF" in result.stdout
    assert "unhealthy" not in result.stdout


def test_empty_cache_is_healthy(cli):
    result = cli("health", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["data"] == {"healthy": True, "models": []}


def test_any_unhealthy_model_exits_1_with_reasons(cli, repos):
    repos.mlx()
    repos.lfs_pointer()
    result = cli("health")
    assert result.exit_code == 1
    assert "unhealthy" in result.stdout and "LFS" in result.stdout.upper()
    assert "1 of 2 model(s) unhealthy" in result.stderr
    doc = json.loads(cli("health", "--json").stdout)
    assert doc["error"]["type"] == "unhealthy_model"
    by_name = {m["name"]: m for m in doc["data"]["models"]}
    assert by_name["mlx-community/Tiny-4bit"]["healthy"] is True
    assert by_name["mlx-community/Broken-4bit"]["reasons"]


def test_one_model_is_judged_alone(cli, repos):
    repos.mlx()
    repos.lfs_pointer()
    assert cli("health", "mlx-community/Tiny-4bit").exit_code == 0
    broken = cli("health", "mlx-community/Broken-4bit", "--json")
    assert broken.exit_code == 1
    (entry,) = json.loads(broken.stdout)["data"]["models"]
    assert entry["healthy"] is False


def test_unknown_model_exits_1(cli):
    result = cli("health", "nobody/nothing", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "model_not_found"
