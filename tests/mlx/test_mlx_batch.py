"""The MLX batch seam on the factory's trained tiny models: the engine's view of real decoding."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mlxk_core import GenerationParams, GenerationRequest, Runner, SequenceSpec
from mlxk_core.backends.mlx import MlxBackend
from tests.factory import QA, STORY, snapshot_dir

Install = Callable[[str], str]
QUESTIONS = [QA.FRANCE, QA.GREETING, QA.PIRATE]
GREEDY_AND_SEEDED = pytest.mark.parametrize(
    "params", [GenerationParams(), GenerationParams(temperature=1.5, seed=42)],
    ids=["greedy", "seeded"],
)


def _loaded(install_model: Install, hf_cache: Path) -> MlxBackend:
    backend = MlxBackend()
    repo = install_model("chat")
    backend.load(snapshot_dir(hf_cache, repo), name=repo)
    return backend


def _prompt(backend: MlxBackend, turns: list[tuple[str, str]]) -> tuple[int, ...]:
    return backend.encode(GenerationRequest.chat(turns)).tokens


def _run(batch: object, specs: dict[int, tuple[int, SequenceSpec]], steps: int = 400
         ) -> dict[int, list[int]]:
    """Step ``batch``, adding each spec at its step; the tokens each key produced."""
    out: dict[int, list[int]] = {key: [] for key in specs}
    for n in range(steps):
        for key, (at, spec) in specs.items():
            if at == n:
                batch.add(key, spec)  # type: ignore[attr-defined]
        result = batch.step()  # type: ignore[attr-defined]
        for key, tokens in result.tokens.items():
            out[key] += tokens
        for key in result.exhausted:
            batch.remove(key)  # type: ignore[attr-defined]
        if n > max(at for at, _ in specs.values()) and not len(batch):  # type: ignore[arg-type]
            break
    return out


@GREEDY_AND_SEEDED
def test_sequences_joining_and_leaving_decode_as_they_do_alone(
    install_model: Install, hf_cache: Path, params: GenerationParams
) -> None:
    backend = _loaded(install_model, hf_cache)
    alone = {}
    for i, qa in enumerate(QUESTIONS):
        batch = backend.open_batch(max_batch=8, prefill_chunk=512)
        spec = SequenceSpec(_prompt(backend, qa.turns), params, 24)
        alone[i] = _run(batch, {i: (0, spec)})[i]
        batch.close()
        backend._store.clear()  # no cache reuse between the runs
    # the first runs alone (single stream), the others join it and leave at other times
    batch = backend.open_batch(max_batch=8, prefill_chunk=512)
    together = _run(batch, {
        i: (3 * i, SequenceSpec(_prompt(backend, qa.turns), params, 24 - 4 * i))
        for i, qa in enumerate(QUESTIONS)
    })
    for i in range(len(QUESTIONS)):
        assert together[i] == alone[i][: 24 - 4 * i], i
    backend.close()


@GREEDY_AND_SEEDED
def test_prompts_of_different_lengths_prefilled_in_one_pass_answer_as_alone(
    install_model: Install, hf_cache: Path, params: GenerationParams
) -> None:
    backend = _loaded(install_model, hf_cache)
    prompts = [_prompt(backend, [("user", "Hi" * extra), *qa.turns])
               for extra, qa in ((0, QA.FRANCE), (1, QA.FRANCE), (2, QA.FRANCE))]
    lengths = sorted(len(p) for p in prompts)
    assert lengths[0] < lengths[-1] <= 1.2 * lengths[0]  # left-padded together, not apart
    alone = {}
    for i, prompt in enumerate(prompts):
        alone[i] = _run(backend.open_batch(max_batch=8, prefill_chunk=512),
                        {i: (0, SequenceSpec(prompt, params, 16))})[i]
        backend._store.clear()
    together = _run(backend.open_batch(max_batch=8, prefill_chunk=512),
                    {i: (0, SequenceSpec(p, params, 16)) for i, p in enumerate(prompts)})
    assert together == alone
    backend.close()


def test_a_long_prompt_is_fed_a_chunk_per_step_and_answers_the_same(
    install_model: Install, hf_cache: Path
) -> None:
    backend = _loaded(install_model, hf_cache)
    turns = [("user", "the cat sat on the mat " * 20), *QA.FRANCE.turns]
    prompt = _prompt(backend, turns)
    assert len(prompt) > 100
    spec = SequenceSpec(prompt, GenerationParams(), 8)
    whole = _run(backend.open_batch(max_batch=4, prefill_chunk=4096), {0: (0, spec)})[0]
    backend._store.clear()
    batch = backend.open_batch(max_batch=4, prefill_chunk=16)
    batch.add(0, spec)
    fed = []
    while True:
        out = batch.step()
        if out.tokens:
            break
        fed.append(out.prefilled[0])
    assert fed and all(n <= 16 for n in fed) and sum(fed) == len(prompt) - 1
    backend._store.clear()
    assert _run(backend.open_batch(max_batch=4, prefill_chunk=16), {0: (0, spec)})[0] == whole
    backend.close()


def test_a_second_turn_reuses_the_cached_prefix(install_model: Install, hf_cache: Path) -> None:
    backend = _loaded(install_model, hf_cache)
    batch = backend.open_batch(max_batch=4, prefill_chunk=512)
    first = _prompt(backend, QA.FRANCE.turns)
    produced = _run(batch, {0: (0, SequenceSpec(first, GenerationParams(), 40))})[0]
    answer = backend.detokenizer()
    for token in produced[:-1]:
        answer.add_token(token)
    answer.finalize()
    follow = _prompt(backend, [*QA.FRANCE.turns, ("assistant", answer.last_segment),
                               ("user", "And?")])
    cached = batch.add(1, SequenceSpec(follow, GenerationParams(), 4))
    assert len(first) <= cached < len(follow)
    backend.close()


def test_logprobs_are_those_of_the_sampled_tokens(install_model: Install, hf_cache: Path) -> None:
    backend = _loaded(install_model, hf_cache)
    batch = backend.open_batch(max_batch=4, prefill_chunk=512)
    prompt = _prompt(backend, QA.FRANCE.turns)
    batch.add(0, SequenceSpec(prompt, GenerationParams(), 6, top_logprobs=3))
    batch.add(1, SequenceSpec(prompt, GenerationParams(), 6))
    seen = 0
    for _ in range(10):
        out = batch.step()
        assert 1 not in out.scores
        for token, score in zip(out.tokens.get(0, []), out.scores.get(0, []), strict=True):
            ids = [i for i, _ in score.top]
            values = [v for _, v in score.top]
            assert len(ids) == 3 and values == sorted(values, reverse=True)
            assert ids[0] == token and abs(values[0] - score.logprob) < 1e-5  # greedy: the top
            assert score.logprob <= 0
            seen += 1
    assert seen == 6
    backend.close()


def test_the_same_seed_samples_the_same_text_alone_and_in_a_batch_of_8(
    install_model: Install,
) -> None:
    def ask(runner: Runner, seed: int) -> str:
        request = GenerationRequest.completion(STORY.prompt, temperature=1.5, seed=seed,
                                               max_tokens=24)
        return runner.generate(request).text

    with Runner(install_model("base")) as runner:
        alone = ask(runner, 42)
        assert ask(runner, 42) == alone
        assert len({ask(runner, s) for s in range(4)}) > 1  # sampling does vary with the seed
        texts: dict[int, str] = {}
        seeds = [7, 42, 3, 42, 11, 5, 42, 9]
        threads = [
            threading.Thread(target=lambda i=i, s=s: texts.__setitem__(i, ask(runner, s)))
            for i, s in enumerate(seeds)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert [texts[i] for i, s in enumerate(seeds) if s == 42] == [alone] * 3
