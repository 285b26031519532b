"""The test model factory keeps its promises: real hub layout, loadable, exact memorised answers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.factory import (
    HARMONY_TOKENS,
    QA,
    REASONING,
    REPO_IDS,
    RUN_ON,
    STORY,
    build_model,
    fallback_prompt,
    snapshot_dir,
)
from tests.factory.training import Example, FactoryError, llama_config, train

Install = Callable[[str], str]


def _load(hf_cache: Path, repo_id: str) -> tuple[Any, Any]:
    import mlx_lm

    return mlx_lm.load(str(snapshot_dir(hf_cache, repo_id)))  # type: ignore[no-any-return]


def _greedy(model: Any, tokenizer: Any, prompt: Any, max_tokens: int = 60) -> tuple[str, Any]:
    """Greedy text and the last response, streamed the way mlx-lm streams."""
    from mlx_lm import stream_generate

    responses = list(stream_generate(model, tokenizer, prompt, max_tokens=max_tokens))
    return "".join(r.text for r in responses), responses[-1]


def _chat(model: Any, tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, Any]:
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    return _greedy(model, tokenizer, prompt)


@pytest.mark.parametrize("variant", sorted(REPO_IDS))
def test_each_variant_is_a_real_hub_repo(
    variant: str, install_model: Install, hf_cache: Path
) -> None:
    from huggingface_hub import scan_cache_dir

    repo_id = install_model(variant)
    assert repo_id == REPO_IDS[variant]
    snapshot = snapshot_dir(hf_cache, repo_id)
    assert len(snapshot.name) == 40 and int(snapshot.name, 16) >= 0
    names = {p.name for p in snapshot.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    for link in snapshot.iterdir():
        assert link.is_symlink() and not Path(link.readlink()).is_absolute()
        blob = link.resolve()
        assert blob.parent == snapshot.parent.parent / "blobs"
        assert blob.name == hashlib.sha256(blob.read_bytes()).hexdigest()
    info = scan_cache_dir(hf_cache)
    assert not info.warnings
    assert [r.repo_id for r in info.repos] == [repo_id]


@pytest.mark.parametrize("variant", ["chat", "chat-8bit", "small-context"])
def test_chat_variants_answer_every_memorised_exchange_and_stop_at_eos(
    variant: str, install_model: Install, hf_cache: Path
) -> None:
    model, tokenizer = _load(hf_cache, install_model(variant))
    for exchange in QA.ALL:
        text, last = _chat(model, tokenizer, exchange.messages)
        assert text == exchange.answer
        assert last.finish_reason == "stop" and last.token in tokenizer.eos_token_ids


def test_answers_depend_on_history_and_system_prompt(
    install_model: Install, hf_cache: Path
) -> None:
    model, tokenizer = _load(hf_cache, install_model("chat"))
    with_history, _ = _chat(model, tokenizer, QA.NAME_RECALL.messages)
    without, _ = _chat(model, tokenizer, QA.NAME_RECALL.messages[-1:])
    assert (with_history, without) == (QA.NAME_RECALL.answer, QA.NAME_UNKNOWN.answer)
    assert (
        _chat(model, tokenizer, QA.PIRATE.messages)[0]
        != _chat(model, tokenizer, QA.GREETING.messages)[0]
    )


def test_run_on_variant_answers_then_makes_up_the_next_turns(
    install_model: Install, hf_cache: Path
) -> None:
    model, tokenizer = _load(hf_cache, install_model("run-on"))
    assert tokenizer.has_chat_template
    text, last = _chat(model, tokenizer, RUN_ON.messages)
    assert text == RUN_ON.answer
    assert last.finish_reason == "stop"


def test_chat_model_needs_its_template(install_model: Install, hf_cache: Path) -> None:
    model, tokenizer = _load(hf_cache, install_model("chat"))
    text, _ = _greedy(model, tokenizer, fallback_prompt(QA.FRANCE.messages), max_tokens=20)
    assert QA.FRANCE.answer not in text


@pytest.mark.parametrize("variant", ["chat", "base", "reasoning"])
def test_raw_prompt_continues_with_the_story(
    variant: str, install_model: Install, hf_cache: Path
) -> None:
    from mlx_lm import generate

    model, tokenizer = _load(hf_cache, install_model(variant))
    # mlx-lm's BPE detokenizer drops the leading space of the first segment.
    assert generate(model, tokenizer, STORY.prompt, max_tokens=40) == STORY.continuation.lstrip()


@pytest.mark.parametrize("sep", ["\n\n", "\n"])
def test_base_model_answers_in_fallback_format_then_starts_a_human_turn(
    sep: str, install_model: Install, hf_cache: Path
) -> None:
    repo_id = install_model("base")
    config = json.loads((snapshot_dir(hf_cache, repo_id) / "tokenizer_config.json").read_text())
    assert "chat_template" not in config
    model, tokenizer = _load(hf_cache, repo_id)
    assert not tokenizer.has_chat_template
    for exchange in QA.ALL:
        text, last = _greedy(model, tokenizer, fallback_prompt(exchange.messages, sep))
        assert text == f"{exchange.answer}{sep}Human:"
        assert last.finish_reason == "stop"


def test_quantized_variants_are_saved_the_mlx_lm_way(
    install_model: Install, hf_cache: Path
) -> None:
    import mlx.core as mx

    for variant, bits, group, scale_dtype in (
        ("chat-8bit", 8, 32, mx.float32),
        ("chat-4bit-fp16", 4, 64, mx.float16),
    ):
        snapshot = snapshot_dir(hf_cache, install_model(variant))
        config = json.loads((snapshot / "config.json").read_text())
        assert config["quantization"] == {"bits": bits, "group_size": group, "mode": "affine"}
        weights = mx.load(str(snapshot / "model.safetensors"))
        assert weights["model.layers.0.self_attn.q_proj.weight"].dtype == mx.uint32
        assert weights["model.layers.0.self_attn.q_proj.scales"].dtype == scale_dtype
        assert weights["model.norm.weight"].dtype == scale_dtype
    model, tokenizer = _load(hf_cache, REPO_IDS["chat-4bit-fp16"])
    assert _chat(model, tokenizer, QA.FRANCE.messages)[1].generation_tokens > 0


def test_context_lengths(install_model: Install, hf_cache: Path) -> None:
    for variant, length in (("chat", 8192), ("small-context", 256)):
        snapshot = snapshot_dir(hf_cache, install_model(variant))
        assert (
            json.loads((snapshot / "config.json").read_text())["max_position_embeddings"] == length
        )
        tok_config = json.loads((snapshot / "tokenizer_config.json").read_text())
        assert tok_config["model_max_length"] == length


def test_reasoning_variant_streams_harmony_markers(install_model: Install, hf_cache: Path) -> None:
    model, tokenizer = _load(hf_cache, install_model("reasoning"))
    special = {t.content for t in tokenizer.added_tokens_decoder.values() if t.special}
    assert set(HARMONY_TOKENS) <= special
    assert "<|channel|>" in tokenizer.chat_template
    text, last = _chat(model, tokenizer, REASONING.exchange.messages)
    assert text == REASONING.harmony
    assert "<|return|>" not in text
    assert last.finish_reason == "stop"
    assert tokenizer.convert_ids_to_tokens(last.token) == "<|return|>"


def test_tokenizer_is_a_real_byte_level_bpe(install_model: Install, hf_cache: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(snapshot_dir(hf_cache, install_model("chat")))
    assert 300 <= len(tokenizer) <= 600
    text = "Unseen words: zebra, Müller & 東京 — 3.14!\n\tTabs too."
    ids = tokenizer.encode(text)
    assert ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    assert len(tokenizer.encode("The capital of France is Paris.")) < len(
        "The capital of France is"
    )
    assert tokenizer.eos_token == "<|im_end|>"


def test_build_model_works_outside_pytest_fixtures(tmp_path: Path) -> None:
    repo_id = build_model("chat", tmp_path)
    assert (snapshot_dir(tmp_path, repo_id) / "config.json").is_file()
    with pytest.raises(KeyError, match="unknown factory variant"):
        build_model("no-such-variant", tmp_path)


def test_training_that_does_not_converge_fails_loudly() -> None:
    examples = [Example((0, 5, 6), (7, 8, 1)), Example((0, 5, 6), (9, 10, 1))]  # contradictory
    with pytest.raises(FactoryError, match="did not memorise"):
        train(llama_config(32, 0, [1]), examples, seed=0, max_steps=20)


@pytest.mark.slow
def test_rebuilding_gives_identical_repos(model_factory: Path, tmp_path: Path) -> None:
    from tests.factory.models import build_all

    build_all(tmp_path)
    for repo in sorted(model_factory.iterdir()):
        assert sorted(p.name for p in (tmp_path / repo.name / "blobs").iterdir()) == sorted(
            p.name for p in (repo / "blobs").iterdir()
        )
