"""The Runner on the factory's trained tiny models through the real MLX backend."""

from __future__ import annotations

import gc
import hashlib
import shutil
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlxk_core.errors import GenerationError, ModelLoadError
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.runner import Runner
from tests.factory import QA, REASONING, STORY, snapshot_dir

Install = Callable[[str], str]


def ask(runner: Runner, turns: tuple[tuple[str, str], ...], **params: Any) -> Any:
    return runner.generate(GenerationRequest.chat(turns, **params))


def test_chat_template_gives_the_memorised_answer_then_stops_at_eos(install_model: Install) -> None:
    with Runner(install_model("chat")) as runner:
        chunks = list(runner.stream(GenerationRequest.chat(QA.FRANCE.turns)))
    assert "".join(c.text for c in chunks) == QA.FRANCE.answer
    last = chunks[-1]
    assert last.finish_reason == "stop"
    assert last.usage is not None and last.usage.completion_tokens < 20
    assert last.timings is not None and last.timings.peak_memory > 0


def test_system_prompt_is_part_of_the_template(install_model: Install) -> None:
    with Runner(install_model("chat")) as runner:
        assert ask(runner, QA.PIRATE.turns).text == QA.PIRATE.answer


def test_base_model_uses_the_fallback_transcript_and_its_stops(install_model: Install) -> None:
    with Runner(install_model("base")) as runner:
        completion = ask(runner, QA.FRANCE.turns)
    assert completion.text.strip() == QA.FRANCE.answer
    assert "Human" not in completion.text
    assert completion.finish_reason == "stop"


def test_raw_prompt_completion(install_model: Install) -> None:
    with Runner(install_model("chat")) as runner:
        completion = runner.generate(GenerationRequest.completion(STORY.prompt))
    # mlx_lm's BPE detokenizer drops a first leading space; a raw completion must keep it
    assert completion.text == STORY.continuation
    assert completion.finish_reason == "stop"


def test_second_turn_sees_the_history_and_reuses_the_prompt_cache(install_model: Install) -> None:
    with Runner(install_model("chat")) as runner:
        first = ask(runner, QA.NAME_INTRO.turns)
        turns = (*QA.NAME_INTRO.turns, ("assistant", first.text), ("user", "What is my name?"))
        second = ask(runner, turns)
    assert first.text == QA.NAME_INTRO.answer
    assert second.text == QA.NAME_RECALL.answer
    assert second.usage.cached_tokens >= first.usage.prompt_tokens
    assert second.usage.prompt_tokens > second.usage.cached_tokens


def test_stream_and_generate_are_byte_identical_for_a_seed(install_model: Install) -> None:
    with Runner(install_model("chat")) as runner:
        request = GenerationRequest.chat(
            QA.GREETING.turns, temperature=1.5, top_p=1.0, seed=11, max_tokens=40
        )
        streamed = "".join(c.text for c in runner.stream(request))
        collected = runner.generate(request).text
        again = runner.generate(request).text
    assert streamed == collected == again


def test_reasoning_model_separates_reasoning_and_answer(install_model: Install) -> None:
    with Runner(install_model("reasoning")) as runner:
        assert runner.is_reasoning
        chunks = list(runner.stream(GenerationRequest.chat(REASONING.exchange.turns)))
    assert "".join(c.reasoning for c in chunks) == REASONING.analysis
    assert "".join(c.text for c in chunks) == REASONING.answer
    assert not any("<|" in c.text + c.reasoning for c in chunks)


def test_default_budget_is_the_context_left_after_the_prompt(install_model: Install) -> None:
    with Runner(install_model("small-context")) as runner:
        request = GenerationRequest.chat(QA.FRANCE.turns)
        prompt = runner.encode(request)
        assert runner.context_length == 256
        assert runner.max_tokens(request) == 256 - len(prompt.tokens)


def test_half_precision_files_compute_in_float32_on_cpu_and_stay_untouched(
    install_model: Install, hf_cache: Path
) -> None:
    import mlx.core as mx
    from mlx.utils import tree_flatten

    path = snapshot_dir(hf_cache, install_model("chat-4bit-fp16"))
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in path.iterdir()}
    with Runner(path) as runner:
        params = tree_flatten(runner.backend.model.parameters())  # type: ignore[attr-defined]
        floats = {v.dtype for _, v in params if mx.issubdtype(v.dtype, mx.floating)}
        assert floats == {mx.float32}
        assert ask(runner, QA.FRANCE.turns).text == QA.FRANCE.answer
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in path.iterdir()}


def test_repo_with_its_own_code_is_refused(install_model: Install, hf_cache: Path,
                                           tmp_path: Path) -> None:
    folder = tmp_path / "custom"
    shutil.copytree(snapshot_dir(hf_cache, install_model("chat")), folder)
    (folder / "modeling_custom.py").write_text("raise SystemExit('ran remote code')\n")
    with pytest.raises(ModelLoadError, match="Python code"), Runner(folder):
        pass


def test_forward_failing_mid_generation_leaves_nothing_loaded(
    install_model: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlx.core as mx
    from mlx_lm.models import llama

    calls = {"n": 0}
    forward = llama.Model.__call__

    def flaky(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("device lost")
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(llama.Model, "__call__", flaky)
    runner = Runner(install_model("chat"))
    gc.collect()
    active_before = mx.get_active_memory()
    with pytest.raises(GenerationError, match="device lost"), runner:
        model_ref = weakref.ref(runner.backend.model)  # type: ignore[attr-defined]
        for _ in runner.stream(GenerationRequest.chat(QA.FRANCE.turns, max_tokens=50)):
            pass
    gc.collect()
    assert not runner.loaded
    assert model_ref() is None
    assert mx.get_active_memory() <= active_before
