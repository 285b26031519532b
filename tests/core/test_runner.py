"""Runner behaviour on the scripted FakeBackend: streaming, stops, budget, cancel, cleanup."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mlxk_core.backends.fake import FakeBackend
from mlxk_core.cache.records import Health, ModelFacts, ResolvedModel
from mlxk_core.errors import (
    ContextOverflow,
    GenerationError,
    ModelLoadError,
    UnhealthyModel,
)
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.runner import Runner
from mlxk_core.generation.tokens import TokenPolicy

QUESTION = [("user", "What is the capital of France?")]


def model(tmp_path: Path, name: str = "org/fake", healthy: bool = True) -> ResolvedModel:
    health = Health(True) if healthy else Health(False, ("model.safetensors is missing",))
    return ResolvedModel(name=name, path=tmp_path, facts=ModelFacts(), health=health)


def test_stream_yields_the_script_then_a_final_chunk_with_usage(tmp_path: Path) -> None:
    backend = FakeBackend(["The capital", " of France", " is Paris."])
    with Runner(model(tmp_path), backend=backend) as runner:
        chunks = list(runner.stream(GenerationRequest.chat(QUESTION)))
    assert "".join(c.text for c in chunks) == "The capital of France is Paris."
    assert [c.finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    last = chunks[-1]
    assert last.finish_reason == "stop"
    prompt = backend.prompts[-1]
    assert prompt == "<|user|>What is the capital of France?<|assistant|>"
    assert last.usage is not None and last.usage.prompt_tokens == len(prompt)
    assert last.usage.completion_tokens == 4  # three pieces and the EOS token
    assert last.timings is not None and last.timings.time_to_first_token is not None


def test_generate_equals_the_collected_stream(tmp_path: Path) -> None:
    with Runner(model(tmp_path), backend=FakeBackend(["a", "b", "c"])) as runner:
        request = GenerationRequest.chat(QUESTION, temperature=0.8, seed=7)
        streamed = "".join(c.text for c in runner.stream(request))
        completion = runner.generate(request)
    assert completion.text == streamed == "abc"
    assert completion.reasoning is None
    assert completion.finish_reason == "stop"


def test_system_prompt_and_history_reach_the_prompt(tmp_path: Path) -> None:
    backend = FakeBackend(["ok"])
    request = GenerationRequest.chat(
        [("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello"), ("user", "Again")]
    )
    with Runner(model(tmp_path), backend=backend) as runner:
        runner.generate(request)
    assert backend.prompts[-1] == (
        "<|system|>Be brief.<|user|>Hi<|assistant|>Hello<|user|>Again<|assistant|>"
    )


def test_fallback_format_and_its_stops_without_a_chat_template(tmp_path: Path) -> None:
    backend = FakeBackend([" Paris", ".", "\nHu", "man: and", " more"], chat_template=False)
    with Runner(model(tmp_path), backend=backend) as runner:
        chunks = list(runner.stream(GenerationRequest.chat(QUESTION)))
    assert backend.prompts[-1] == "Human: What is the capital of France?\nAssistant:"
    assert "".join(c.text for c in chunks) == " Paris."
    assert chunks[-1].finish_reason == "stop"
    assert not any("Hu" in c.text for c in chunks)


def test_caller_stop_string_split_across_tokens_never_reaches_the_output(tmp_path: Path) -> None:
    backend = FakeBackend(["one ", "two EN", "D three"])
    with Runner(model(tmp_path), backend=backend) as runner:
        chunks = list(runner.stream(GenerationRequest.chat(QUESTION, stop=["END"])))
    assert "".join(c.text for c in chunks) == "one two "
    assert all("E" not in c.text for c in chunks)
    assert chunks[-1].finish_reason == "stop"


def test_the_stop_string_that_ended_the_answer_is_reported(tmp_path: Path) -> None:
    backend = FakeBackend(["one ", "two EN", "D three\nHuman: x"])
    with Runner(model(tmp_path), backend=backend) as runner:
        stopped = runner.generate(GenerationRequest.chat(QUESTION, stop=["NOPE", "END"]))
        plain = runner.generate(GenerationRequest.chat(QUESTION, stop=["NOPE"]))
    assert (stopped.text, stopped.stop_sequence) == ("one two ", "END")
    # a chat turn marker also stops the answer, but it is not one of the request's stops
    assert (plain.text, plain.finish_reason, plain.stop_sequence) == ("one two END three", "stop",
                                                                      None)


def test_explicit_max_tokens_ends_with_length(tmp_path: Path) -> None:
    with Runner(model(tmp_path), backend=FakeBackend(["x"], eos=False)) as runner:
        completion = runner.generate(GenerationRequest.chat(QUESTION, max_tokens=3))
    assert completion.text == "xxx"
    assert completion.finish_reason == "length"
    assert completion.usage.completion_tokens == 3


def test_default_budget_is_the_whole_context_left(tmp_path: Path) -> None:
    backend = FakeBackend(["x"], eos=False, context_length=100)
    with Runner(model(tmp_path), backend=backend) as runner:
        completion = runner.generate(GenerationRequest.completion("hello"))
    assert completion.usage.completion_tokens == 95
    assert completion.finish_reason == "length"


def test_server_policy_uses_half_the_context(tmp_path: Path) -> None:
    backend = FakeBackend(["x"], eos=False, context_length=100)
    with Runner(model(tmp_path), backend=backend, policy=TokenPolicy(mode="server")) as runner:
        completion = runner.generate(GenerationRequest.completion("hello"))
    assert completion.usage.completion_tokens == 50


def test_prompt_filling_the_context_is_refused_before_generating(tmp_path: Path) -> None:
    backend = FakeBackend(context_length=10)
    with Runner(model(tmp_path), backend=backend) as runner, pytest.raises(ContextOverflow):
        runner.stream(GenerationRequest.completion("far more than ten characters"))
    assert backend.generated == 0


def test_cancel_ends_the_stream_within_a_step(tmp_path: Path) -> None:
    backend = FakeBackend(["tok "], eos=False, step_delay=0.02)
    cancel = threading.Event()
    with Runner(model(tmp_path), backend=backend) as runner:
        stream = runner.stream(GenerationRequest.chat(QUESTION), cancel=cancel)
        first = next(stream)
        cancel.set()
        at_cancel = backend.generated
        rest = list(stream)
        time.sleep(0.1)
    assert first.text == "tok "
    assert rest[-1].finish_reason == "cancelled"
    assert backend.generated <= at_cancel + 1


def test_cancel_set_before_start_generates_nothing(tmp_path: Path) -> None:
    backend = FakeBackend(["tok"])
    cancel = threading.Event()
    cancel.set()
    with Runner(model(tmp_path), backend=backend) as runner:
        completion = runner.generate(GenerationRequest.chat(QUESTION), cancel=cancel)
    assert completion.finish_reason == "cancelled" and completion.text == ""
    assert backend.generated == 0


def test_failing_forward_raises_generation_error_and_exit_unloads(tmp_path: Path) -> None:
    backend = FakeBackend(["a", "b", "c"], fail_at=2)
    runner = Runner(model(tmp_path), backend=backend)
    with pytest.raises(GenerationError, match="fake forward failed"), runner:
        for _ in runner.stream(GenerationRequest.chat(QUESTION)):
            pass
    assert not backend.loaded and not runner.loaded


def test_exception_in_the_body_still_unloads_and_close_is_idempotent(tmp_path: Path) -> None:
    backend = FakeBackend()
    runner = Runner(model(tmp_path), backend=backend)
    with pytest.raises(KeyError), runner:
        assert backend.loaded
        raise KeyError("boom")
    assert not backend.loaded
    runner.close()
    runner.close()
    with pytest.raises(GenerationError, match="no model loaded"):
        runner.generate(GenerationRequest.chat(QUESTION))


def test_load_failure_is_a_model_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="cannot load"), Runner(
        model(tmp_path), backend=FakeBackend(fail_on_load=True)
    ):
        pass


def test_unhealthy_model_is_refused_before_loading(tmp_path: Path) -> None:
    backend = FakeBackend()
    with pytest.raises(UnhealthyModel, match="missing"), Runner(
        model(tmp_path, healthy=False), backend=backend
    ):
        pass
    assert backend.generated == 0 and not backend.loaded


def test_usage_counts_tokens_served_from_the_prompt_cache(tmp_path: Path) -> None:
    backend = FakeBackend(["Paris."])
    with Runner(model(tmp_path), backend=backend) as runner:
        first = runner.generate(GenerationRequest.chat(QUESTION))
        second = runner.generate(
            GenerationRequest.chat([*QUESTION, ("assistant", first.text), ("user", "Sure?")])
        )
    assert first.usage.cached_tokens == 0
    assert second.usage.cached_tokens > first.usage.prompt_tokens - 2
    assert second.usage.prompt_tokens > second.usage.cached_tokens


def test_reasoning_model_splits_reasoning_from_the_answer(tmp_path: Path) -> None:
    script = [
        "<|channel|>analysis<|mess", "age|>The user asks", " about France.", "<|end|>",
        "<|start|>assistant<|channel|>final<|message|>", "Paris", " it is.",
    ]
    with Runner(model(tmp_path, name="org/gpt-oss-tiny"), backend=FakeBackend(script)) as runner:
        assert runner.is_reasoning
        chunks = list(runner.stream(GenerationRequest.chat(QUESTION)))
        completion = runner.generate(GenerationRequest.chat(QUESTION))
    assert "".join(c.reasoning for c in chunks) == "The user asks about France."
    assert "".join(c.text for c in chunks) == "Paris it is."
    assert not any("<|" in c.text or "<|" in c.reasoning for c in chunks)
    assert completion.reasoning == "The user asks about France."
    assert completion.text == "Paris it is."
