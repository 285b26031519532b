"""What a model folder's files say before loading: remote code, EOS ids, context length."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlxk_core.cache.listing import read_json

__all__ = ["configured_eos_ids", "remote_code_reason"]


def _object(path: Path) -> dict[str, Any]:
    data = read_json(path)
    return data if isinstance(data, dict) else {}


def remote_code_reason(path: Path) -> str | None:
    """Why loading ``path`` would run the repo's own Python code, or None when it would not."""
    scripts = sorted(p.name for p in path.glob("*.py"))
    if scripts:
        return "it ships Python code (" + ", ".join(scripts) + ")"
    config = _object(path / "config.json")
    for key in ("auto_map", "model_file"):
        if key in config:
            return f"config.json asks for custom code ({key})"
    if "auto_map" in _object(path / "tokenizer_config.json"):
        return "tokenizer_config.json asks for a custom tokenizer class (auto_map)"
    return None


def _ids(value: Any) -> set[int]:
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, int) and not isinstance(v, bool)}
    return set()


def configured_eos_ids(path: Path) -> set[int]:
    """Every EOS id named by config.json (and its text_config) and generation_config.json."""
    config = _object(path / "config.json")
    text_config = config.get("text_config")
    ids = _ids(config.get("eos_token_id"))
    if isinstance(text_config, dict):
        ids |= _ids(text_config.get("eos_token_id"))
    return ids | _ids(_object(path / "generation_config.json").get("eos_token_id"))
