"""`mlxk show` on a GGUF-only repo names its precision: gguf (text and JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.programs import mlxk
from tests.factory import variants as v


def test_gguf_repo_precision_is_gguf(hf_cache: Path) -> None:
    v.make_gguf_only(hf_cache, "bartowski/Tiny-Chat-GGUF")
    text = mlxk(hf_cache, "show", "bartowski/Tiny-Chat-GGUF")
    assert text.returncode == 0, text.stderr
    assert "Precision      gguf" in text.stdout.splitlines()
    data = json.loads(mlxk(hf_cache, "show", "bartowski/Tiny-Chat-GGUF", "--json").stdout)["data"]
    assert (data["framework"], data["precision"]) == ("gguf", "gguf")
    assert {g["quant"] for g in data["gguf_variants"]} == {"Q4_K_M", "Q8_0", "F16"}
