"""What a model folder says before loading: every EOS id, and whether it would run its own code."""

from __future__ import annotations

import json
from pathlib import Path

from mlxk_core.backends.model_files import configured_eos_ids, remote_code_reason


def test_eos_ids_are_the_union_of_config_text_config_and_generation_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"eos_token_id": 2, "text_config": {"eos_token_id": [7, 8]}})
    )
    (tmp_path / "generation_config.json").write_text(json.dumps({"eos_token_id": [2, 106]}))
    assert configured_eos_ids(tmp_path) == {2, 7, 8, 106}


def test_missing_or_odd_eos_fields_give_nothing(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"eos_token_id": True}))
    assert configured_eos_ids(tmp_path) == set()


def test_remote_code_is_detected(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert remote_code_reason(tmp_path) is None
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"auto_map": {}}))
    assert "custom tokenizer" in (remote_code_reason(tmp_path) or "")
    (tmp_path / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "x.Y"}}))
    assert "auto_map" in (remote_code_reason(tmp_path) or "")
    (tmp_path / "modeling_x.py").write_text("")
    assert "modeling_x.py" in (remote_code_reason(tmp_path) or "")
