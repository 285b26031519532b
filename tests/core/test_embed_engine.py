"""Embedding requests in the core Engine, on fake backends: batching, truncation, refusals,
sharing the pool with generation, and never holding a generation up for more than one pass."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mlxk_core import (
    EmbeddingFacts,
    EmbedOptions,
    Engine,
    EngineStopped,
    FakeBackend,
    FakeEmbeddingBackend,
    GenerationError,
    GenerationRequest,
    Health,
    InvalidRequest,
    ModelFacts,
    ModelLoadError,
    ResolvedModel,
)

QUESTION = [("user", "hi")]


def _model(root: Path, repo: str, facts: ModelFacts) -> ResolvedModel:
    path = root / repo.replace("/", "--")
    path.mkdir(parents=True, exist_ok=True)
    return ResolvedModel(repo, path, facts, Health(True), repo_id=repo)


def embedder(root: Path, max_tokens: int | None = None, matryoshka: bool = False) -> ResolvedModel:
    facts = EmbeddingFacts("encoder", "mean", 32, max_tokens=max_tokens, matryoshka=matryoshka)
    return _model(root, "org/embed", ModelFacts("mlx", "embedding", embedding=facts))


def chat(root: Path) -> ResolvedModel:
    return _model(root, "org/chat", ModelFacts("mlx", "chat", context_length=8192))


def _dot(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_many_inputs_go_through_few_passes_and_equal_single_calls(tmp_path: Path) -> None:
    backend = FakeEmbeddingBackend()
    texts = [f"text number {i} " * (i % 5 + 1) for i in range(20)]
    with Engine(lambda m: backend, max_batch=8) as engine:
        model = embedder(tmp_path)
        batch = engine.embed(model, texts).result()
        singles = [engine.embed(model, [t]).result().embeddings[0] for t in texts]
    assert backend.passes[:3] == [8, 8, 4]  # 20 inputs, at most 8 a pass
    assert [e.vector for e in batch.embeddings] == [e.vector for e in singles]
    assert batch.prompt_tokens == sum(len(t) for t in texts)
    assert batch.dimension == 32 and batch.pooling == "mean"
    assert all(abs(_dot(v, v) - 1) < 1e-9 for v in batch.vectors)


def test_long_inputs_are_cut_and_flagged_or_refused(tmp_path: Path) -> None:
    with Engine(lambda m: FakeEmbeddingBackend(), max_batch=8) as engine:
        model = embedder(tmp_path, max_tokens=10)
        result = engine.embed(model, ["short", "x" * 25, [7] * 12]).result()
        assert [(e.tokens, e.truncated) for e in result.embeddings] == [
            (5, False), (10, True), (10, True)
        ]
        assert result.embeddings[1].vector == engine.embed(model, ["x" * 10]).result().vectors[0]
        with pytest.raises(InvalidRequest, match="Input 1 has 25 tokens; .* at most 10"):
            engine.embed(model, ["short", "x" * 25], EmbedOptions(truncate=False)).result()


def test_the_wrong_kind_of_model_is_refused_before_any_loading(tmp_path: Path) -> None:
    loads: list[str] = []

    def factory(m: ResolvedModel) -> FakeBackend | FakeEmbeddingBackend:
        loads.append(m.name)
        return FakeEmbeddingBackend() if m.facts.embedding else FakeBackend()

    with Engine(factory) as engine:
        with pytest.raises(InvalidRequest, match="'org/chat' is a chat model, not an embedding"):
            engine.embed(chat(tmp_path), ["a"])
        with pytest.raises(InvalidRequest, match="'org/embed' is an embedding model"):
            engine.submit(embedder(tmp_path), GenerationRequest.chat(QUESTION))
        with pytest.raises(InvalidRequest, match="no input"):
            engine.embed(embedder(tmp_path), [])
        with pytest.raises(InvalidRequest, match="not trained to be shortened"):
            engine.embed(embedder(tmp_path), ["a"], EmbedOptions(dimensions=8))
    assert loads == []


def test_matryoshka_dimensions_give_renormalized_prefixes(tmp_path: Path) -> None:
    with Engine(lambda m: FakeEmbeddingBackend()) as engine:
        model = embedder(tmp_path, matryoshka=True)
        full = engine.embed(model, ["a cat on a mat"]).result().vectors[0]
        short = engine.embed(model, ["a cat on a mat"], EmbedOptions(dimensions=8)).result()
    assert short.dimension == 8
    scale = sum(v * v for v in full[:8]) ** 0.5
    assert short.vectors[0] == pytest.approx([v / scale for v in full[:8]])


def test_an_embedding_never_holds_a_generation_for_more_than_one_pass(tmp_path: Path) -> None:
    """Two models loaded: the generation's tokens keep coming while 40 passes run."""
    pass_time, step_time = 0.05, 0.005
    backends = {"org/chat": FakeBackend(["t"], eos=False, step_delay=step_time),
                "org/embed": FakeEmbeddingBackend(delay=pass_time)}
    with Engine(lambda m: backends[m.name], max_loaded_models=2, max_batch=2) as engine:
        handle = engine.submit(chat(tmp_path), GenerationRequest.chat(QUESTION, max_tokens=120))
        stamps: list[float] = []
        reader = threading.Thread(target=lambda: stamps.extend(
            time.monotonic() for _ in handle.chunks()))
        reader.start()
        time.sleep(0.05)
        result = engine.embed(embedder(tmp_path), ["some text"] * 80).result()
        reader.join(30)
    assert len(result.embeddings) == 80 and backends["org/embed"].passes == [2] * 40
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert max(gaps) < 10 * pass_time  # about one pass between two tokens, not forty (2 s)
    assert len(stamps) > 40  # the generation ran on while the embedding was being made


def test_one_loaded_model_is_shared_by_turns(tmp_path: Path) -> None:
    """With room for one model, an embedding waits for the generation, then takes the slot."""
    backends = {"org/chat": FakeBackend(["t"] * 5), "org/embed": FakeEmbeddingBackend()}
    with Engine(lambda m: backends[m.name], max_loaded_models=1) as engine:
        handle = engine.submit(chat(tmp_path), GenerationRequest.chat(QUESTION))
        result = engine.embed(embedder(tmp_path), ["a"]).result(timeout=10)
        assert handle.completion().text == "ttttt"
        loaded = [m["id"] for m in engine.status().loaded]
    assert result.vectors and loaded == ["org/embed"]
    assert not backends["org/chat"].loaded


def test_cancel_stop_and_load_failures_reach_the_caller(tmp_path: Path) -> None:
    slow = FakeEmbeddingBackend(delay=0.05)
    engine = Engine(lambda m: slow, max_batch=1).start()
    cancel = threading.Event()
    handle = engine.embed(embedder(tmp_path), ["x"] * 50, cancel=cancel)
    time.sleep(0.1)
    cancel.set()
    with pytest.raises(GenerationError, match="cancelled"):
        handle.result(timeout=10)
    running = engine.embed(embedder(tmp_path), ["x"] * 50)
    time.sleep(0.1)
    engine.stop()
    with pytest.raises(EngineStopped):
        running.result(timeout=10)
    assert len(slow.passes) < 20

    broken = FakeEmbeddingBackend(fail_on_load=True)
    with Engine(lambda m: broken) as engine:
        handles = [engine.embed(embedder(tmp_path), ["x"]) for _ in range(3)]
        for h in handles:
            with pytest.raises(ModelLoadError, match="cannot load"):
                h.result(timeout=10)
        assert engine.status().waiting == engine.status().active == 0
