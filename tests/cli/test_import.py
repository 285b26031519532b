"""`mlxk import FILE.gguf`: exit codes, messages and the --json envelope."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.core.gguf_builder import F32, tiny_llama, tiny_metadata, write_gguf


def test_import_then_list_health_and_reimport(cli, tmp_path: Path, hf_cache: Path):
    gguf, _ = tiny_llama(tmp_path / "Tiny-Chat.F32.gguf")
    result = cli("import", str(gguf))
    assert result.exit_code == 0, result.output
    assert "Imported Tiny-Chat.F32.gguf as local/Tiny-Chat.F32" in result.stdout
    assert "mlxk run local/Tiny-Chat.F32" in result.stdout
    assert (hf_cache / "models--local--Tiny-Chat.F32" / "refs" / "main").is_file()
    again = cli("import", str(gguf))
    assert again.exit_code == 0 and "Already imported as local/Tiny-Chat.F32" in again.stdout


def test_json_envelope_with_name(cli, tmp_path: Path):
    gguf, _ = tiny_llama(tmp_path / "t.gguf", quant=True)
    result = cli("import", str(gguf), "--name", "me/tiny", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["command"] == "import" and doc["error"] is None
    data = doc["data"]
    assert data["name"] == "me/tiny" and data["reused"] is False
    assert data["quantization"] == {"bits": 8, "group_size": 32}
    assert data["architecture"] == "llama" and "Q8_0" in data["tensor_types"]
    assert Path(data["snapshot"], "model.safetensors").is_file()
    forced = json.loads(cli("import", str(gguf), "-n", "me/tiny", "--force", "--json").stdout)
    assert forced["data"]["reused"] is False


def test_unsupported_file_exits_1_with_a_hint(cli, tmp_path: Path, hf_cache: Path):
    bad = write_gguf(tmp_path / "g.gguf", tiny_metadata("gemma"),
                     {"output_norm.weight": (F32, np.ones(4, np.float32), (4,))})
    result = cli("import", str(bad))
    assert result.exit_code == 1
    assert "architecture 'gemma' is not supported" in result.stderr
    assert "Hint:" in result.stderr
    doc = json.loads(cli("import", str(bad), "--json").stdout)
    assert doc["data"] is None and doc["error"]["type"] == "import_failed"
    assert list(hf_cache.iterdir()) == []


def test_missing_file_exits_1(cli, tmp_path: Path):
    result = cli("import", str(tmp_path / "nope.gguf"))
    assert result.exit_code == 1 and "No such file" in result.stderr
