"""The core Engine on scripted backends: threads, revisions, fairness, chunked prefill, cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mlxk_core import (
    Engine,
    EngineBusy,
    EngineStopped,
    FakeBackend,
    GenerationRequest,
    Health,
    ModelFacts,
    ResolvedModel,
)

QUESTION = [("user", "hi")]


def model(root: Path, repo: str, commit: str = "a" * 40) -> ResolvedModel:
    """A resolved snapshot of ``repo`` at ``commit`` (its own folder, as in the cache)."""
    path = root / repo.replace("/", "--") / commit
    path.mkdir(parents=True, exist_ok=True)
    return ResolvedModel(name=repo, path=path, facts=ModelFacts(context_length=8192),
                         health=Health(True), repo_id=repo, commit_hash=commit)


def by_path(**backends: Callable[[], FakeBackend]) -> Callable[[ResolvedModel], FakeBackend]:
    """A backend factory choosing by the snapshot's commit (the folder name)."""
    return lambda m: backends[m.path.name]()


def test_requests_from_many_threads_are_decoded_together(tmp_path: Path) -> None:
    backend = FakeBackend(["tok"] * 20, step_delay=0.005)
    results: dict[int, str] = {}

    with Engine(lambda m: backend, max_batch=8) as engine:
        target = model(tmp_path, "org/m")

        def ask(i: int) -> None:
            results[i] = engine.submit(target, GenerationRequest.chat(QUESTION)).completion().text

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert results == {i: "tok" * 20 for i in range(8)}
    # decoded together: far fewer steps than the 8 x 21 tokens one after the other would take
    assert backend.steps < 8 * 21 / 2


def test_a_revision_is_its_own_model_even_while_the_other_one_decodes(tmp_path: Path) -> None:
    main, old = model(tmp_path, "org/m", "a" * 40), model(tmp_path, "org/m", "b" * 40)
    factory = by_path(**{
        "a" * 40: lambda: FakeBackend(["main "] * 30, step_delay=0.01),
        "b" * 40: lambda: FakeBackend(["old"]),
    })
    with Engine(factory, max_loaded_models=2) as engine:
        long = engine.submit(main, GenerationRequest.chat(QUESTION))
        long.started()
        answer = engine.submit(old, GenerationRequest.chat(QUESTION)).completion()
        assert long.completion().text == "main " * 30
    assert answer.text == "old"


def test_another_model_is_served_within_the_fair_share_under_steady_traffic(
    tmp_path: Path,
) -> None:
    busy, other = model(tmp_path, "org/busy", "a" * 40), model(tmp_path, "org/other", "b" * 40)
    factory = by_path(**{
        "a" * 40: lambda: FakeBackend(["x"] * 5, step_delay=0.01),
        "b" * 40: lambda: FakeBackend(["y"]),
    })
    stop = threading.Event()
    served = {"busy": 0}

    with Engine(factory, max_loaded_models=1, fair_share=0.5) as engine:

        def hammer() -> None:
            while not stop.is_set():
                engine.submit(busy, GenerationRequest.chat(QUESTION)).completion()
                served["busy"] += 1

        clients = [threading.Thread(target=hammer) for _ in range(8)]
        for c in clients:
            c.start()
        time.sleep(0.3)
        start = time.monotonic()
        answer = engine.submit(other, GenerationRequest.chat(QUESTION)).completion()
        waited = time.monotonic() - start
        stop.set()
        for c in clients:
            c.join(30)
    assert answer.text == "y"
    assert waited < 0.5 + 1.0  # the share, the drain of 5-token answers, and the swap
    assert served["busy"] > 8


def test_two_loaded_models_make_progress_together(tmp_path: Path) -> None:
    a, b = model(tmp_path, "org/a", "a" * 40), model(tmp_path, "org/b", "b" * 40)
    made: list[str] = []
    backends = {"a" * 40: FakeBackend(["a"] * 40, step_delay=0.01),
                "b" * 40: FakeBackend(["b"] * 40, step_delay=0.01)}

    def factory(m: ResolvedModel) -> FakeBackend:
        made.append(m.path.name)
        return backends[m.path.name]

    with Engine(factory, max_loaded_models=2) as engine:
        engine.load(a)
        engine.load(b)
        first = engine.submit(a, GenerationRequest.chat(QUESTION))
        second = engine.submit(b, GenerationRequest.chat(QUESTION))
        stream_a, stream_b = first.chunks(), second.chunks()
        next(stream_a), next(stream_b)  # both have started ...
        progress_b = backends["b" * 40].generated
        rest_a = list(stream_a)
        # ... and while a ran to its end, b went on too (their batches took turns)
        assert backends["b" * 40].generated >= progress_b + 30
        assert "".join(c.text for c in rest_a).count("a") == 39
        list(stream_b)
    assert sorted(made) == ["a" * 40, "b" * 40]  # each loaded once: no reload


def test_a_short_request_starts_within_a_prefill_chunk_of_a_long_prompt(tmp_path: Path) -> None:
    # 2,000 prompt tokens at 1 ms each: 2 s of prefill, fed 500 tokens (0.5 s) per step
    backend = FakeBackend(["done"], prefill_delay=0.001, step_delay=0.001)
    target = model(tmp_path, "org/m")
    with Engine(lambda m: backend, prefill_chunk=500) as engine:
        long = engine.submit(target, GenerationRequest.completion("w" * 2000))
        long.started()
        start = time.monotonic()
        short = engine.submit(target, GenerationRequest.completion("hi"))
        first = next(short.chunks())
        ttft = time.monotonic() - start
        assert first.text == "done"
        assert long.completion().text == "done"
    assert ttft < 0.5 * 2 + 0.3  # at most the chunk in flight and one more, not the 2 s


def test_cancel_during_a_long_prefill_ends_it_between_chunks(tmp_path: Path) -> None:
    backend = FakeBackend(["never"], prefill_delay=0.001)
    with Engine(lambda m: backend, prefill_chunk=250) as engine:
        handle = engine.submit(model(tmp_path, "org/m"), GenerationRequest.completion("w" * 4000))
        handle.started()
        time.sleep(0.3)
        start = time.monotonic()
        handle.cancel()
        chunks = list(handle.chunks())
        took = time.monotonic() - start
    assert chunks[-1].finish_reason == "cancelled" and "never" not in chunks[-1].text
    assert took < 0.6  # one 0.25 s chunk, not the rest of the 4 s prefill
    assert backend.generated == 0


def test_stop_during_a_long_prefill_ends_the_stream_and_refuses_new_work(tmp_path: Path) -> None:
    backend = FakeBackend(["never"], prefill_delay=0.001)
    engine = Engine(lambda m: backend, prefill_chunk=250).start()
    target = model(tmp_path, "org/m")
    handle = engine.submit(target, GenerationRequest.completion("w" * 4000))
    handle.started()
    start = time.monotonic()
    engine.stop()
    assert time.monotonic() - start < 0.6
    assert list(handle.chunks())[-1].finish_reason == "cancelled"
    with pytest.raises(EngineStopped):
        engine.submit(target, GenerationRequest.completion("again"))
    assert not backend.loaded


def test_a_full_queue_is_refused_and_status_counts_waiting_and_running(tmp_path: Path) -> None:
    backend = FakeBackend(["x"] * 50, step_delay=0.01)
    target = model(tmp_path, "org/m")
    with Engine(lambda m: backend, max_batch=1, max_queue=2) as engine:
        running = engine.submit(target, GenerationRequest.chat(QUESTION))
        running.started()
        queued = [engine.submit(target, GenerationRequest.chat(QUESTION)) for _ in range(2)]
        with pytest.raises(EngineBusy):
            engine.submit(target, GenerationRequest.chat(QUESTION))
        status = engine.status()
        assert (status.waiting, status.active) == (2, 1)
        assert [m["id"] for m in status.loaded] == ["org/m"]
        for handle in (running, *queued):
            handle.cancel()


def test_encode_formats_a_request_with_the_loaded_model_without_generating(
    tmp_path: Path,
) -> None:
    backend = FakeBackend(["tok"] * 5)
    request = GenerationRequest.chat([("system", "Be brief."), ("user", "hi")])
    with Engine(lambda m: backend) as engine:
        target = model(tmp_path, "org/m")
        prompt = engine.encode(target, request)
        assert [m["id"] for m in engine.status().loaded] == ["org/m"]  # loaded on the way
        assert engine.status().active == engine.status().waiting == 0
    assert prompt == backend.encode(request)
    assert len(prompt.tokens) > len("Be brief.hi")
    assert backend.steps == 0  # nothing generated


def test_unload_waits_for_the_model_to_be_idle_even_while_another_one_runs(
    tmp_path: Path,
) -> None:
    a, b = model(tmp_path, "org/a", "a" * 40), model(tmp_path, "org/b", "b" * 40)
    backends = {"a" * 40: FakeBackend(["a"] * 20, step_delay=0.01),
                "b" * 40: FakeBackend(["b"] * 400, step_delay=0.01)}
    with Engine(lambda m: backends[m.path.name], max_loaded_models=2) as engine:
        busy_b = engine.submit(b, GenerationRequest.chat(QUESTION))
        busy_b.started()
        running_a = engine.submit(a, GenerationRequest.chat(QUESTION))
        running_a.started()
        engine.unload(a)
        time.sleep(0.05)
        assert backends["a" * 40].loaded  # still running: not yet
        assert running_a.completion().text == "a" * 20
        deadline = time.monotonic() + 2
        while backends["a" * 40].loaded and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not backends["a" * 40].loaded  # released while b still decodes
        assert [m["id"] for m in engine.status().loaded] == ["org/b"]
        busy_b.cancel()
