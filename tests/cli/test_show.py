"""`mlxk show`: the facts of one model, its files and config, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path


def test_show_prints_the_facts(cli, repos):
    snapshot = repos.mlx()
    result = cli("show", "mlx-community/Tiny-4bit")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for fact in ("Framework MLX", "Type chat", "LlamaForCausalLM", "4-bit, group 64",
                 "Context length 8,192", "Reasoning no", "Health ok", snapshot.name[:8]):
        assert fact in text
    assert str(snapshot) in result.stdout.replace("\n", "")


def test_show_json_has_every_fact_files_and_config(cli, repos):
    snapshot = repos.mlx()
    doc = json.loads(cli("show", "Tiny-4bit", "--json").stdout)
    assert doc["command"] == "show" and doc["error"] is None
    data = doc["data"]
    assert data["name"] == "mlx-community/Tiny-4bit"
    assert data["commit"] == snapshot.name and data["refs"] == ["main"]
    assert data["snapshot_path"] == str(snapshot)
    assert data["framework"] == "mlx" and data["context_length"] == 8192
    assert data["quantization"]["bits"] == 4 and data["quantization"]["group_size"] == 64
    assert data["health"] == {"healthy": True, "reasons": []}
    assert {f["name"] for f in data["files"]} == {
        "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"
    }
    assert data["config"]["model_type"] == "llama"
    assert [r["commit"] for r in data["revisions"]] == [snapshot.name]


def test_show_files_and_config_flags(cli, repos):
    repos.mlx()
    files = cli("show", "mlx-community/Tiny-4bit", "--files")
    assert "model.safetensors" in files.stdout and "tokenizer_config.json" in files.stdout
    assert "model.safetensors" not in cli("show", "mlx-community/Tiny-4bit").stdout
    config = cli("show", "mlx-community/Tiny-4bit", "--config")
    assert '"max_position_embeddings": 8192' in config.stdout


def test_show_gguf_variants_with_sizes(cli, repos):
    repos.gguf()
    result = cli("show", "bartowski/Tiny-GGUF")
    assert result.exit_code == 0
    assert "Q4_K_M" in result.stdout and "Q8_0" in result.stdout
    variants = json.loads(cli("show", "bartowski/Tiny-GGUF", "--json").stdout)["data"]
    sizes = {v["quant"]: v["size"] for v in variants["gguf_variants"]}
    assert sizes == {"Q4_K_M": 3000, "Q8_0": 5000, "F16": 9000}
    assert "3.0 KB" in result.stdout and "9.0 KB" in result.stdout


def test_show_unhealthy_model_lists_reasons(cli, repos):
    repos.lfs_pointer()
    result = cli("show", "mlx-community/Broken-4bit")
    assert result.exit_code == 0
    assert "unhealthy" in result.stdout and "LFS" in result.stdout.upper()


def test_show_unknown_model_exits_1_with_one_clear_line(cli, repos):
    repos.mlx()
    result = cli("show", "Tiny-4bi")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: Model 'Tiny-4bi' not found")
    assert "Tiny-4bit" in result.stderr  # the close match is suggested
    doc = json.loads(cli("show", "Tiny-4bi", "--json").stdout)
    assert doc["data"] is None and doc["command"] == "show"
    assert doc["error"]["type"] == "model_not_found" and doc["error"]["hint"]


def test_show_refuses_traversal_names_and_paths_that_are_no_model_folder(
    cli, repos, hf_cache: Path
):
    repos.mlx()
    # a path names a local model folder (as for run): anything else is not found
    for name in ("../x", "../../etc", "/etc/passwd", str(hf_cache.parent)):
        doc = json.loads(cli("show", name, "--json").stdout)
        assert doc["error"]["type"] == "model_not_found", name
        assert doc["data"] is None
    blobs = str(hf_cache / "models--mlx-community--Tiny-4bit" / "blobs")
    for name in ("org/../x", "mlx-community/../../etc", blobs):
        doc = json.loads(cli("show", name, "--json").stdout)
        assert doc["error"]["type"] == "unsafe_path", name
        assert doc["data"] is None


def test_show_without_model_is_a_usage_error(cli):
    assert cli("show").exit_code == 2
