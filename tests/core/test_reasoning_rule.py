"""The cache facts use the one reasoning rule (`is_reasoning_model`) that the Runner applies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlxk_core.cache.facts import read_facts
from mlxk_core.cache.index import CacheIndex
from mlxk_core.generation.reasoning import is_reasoning_model
from tests.factory import variants as v

THINK = {"added_tokens_decoder": {"7": {"content": "<think>", "special": True}}}


def _folder(root: Path, name: str, tok_config: dict[str, object]) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "config.json").write_bytes(v.llama_config())
    (folder / "tokenizer_config.json").write_text(json.dumps(tok_config))
    return folder


@pytest.mark.parametrize(
    ("name", "tok_config", "expected"),
    [
        ("plain-model", {}, False),
        ("gpt-oss-20b", {}, True),  # by name
        ("Model-MXFP4", {}, True),
        ("plain-model", THINK, True),  # a <think> special token
        ("plain-model", {"chat_template": "<|start|>{{ m }}<|message|>"}, True),
    ],
)
def test_facts_give_the_rule_s_verdict(
    tmp_path: Path, name: str, tok_config: dict[str, object], expected: bool
) -> None:
    folder = _folder(tmp_path, name, tok_config)
    template = tok_config.get("chat_template")
    tokens = ["<think>"] if tok_config is THINK else []
    rule = is_reasoning_model(
        name, chat_template=template if isinstance(template, str) else None, special_tokens=tokens
    )
    assert rule is expected
    assert read_facts(folder).reasoning is expected
    assert read_facts(folder, name="other/" + name).reasoning is expected


def test_the_repo_id_counts_for_cached_models(hf_cache: Path) -> None:
    v.make_mlx_model(hf_cache, "acme/gpt-oss-mini")
    v.make_mlx_model(hf_cache, "acme/plain-mini")
    index = CacheIndex(hf_cache)
    assert index.resolve("acme/gpt-oss-mini").facts.reasoning is True
    assert index.resolve("acme/plain-mini").facts.reasoning is False


def test_model_type_gpt_oss_is_part_of_the_rule() -> None:
    assert is_reasoning_model("x/y", model_type="gpt_oss")
    assert not is_reasoning_model("x/y", model_type="llama")
