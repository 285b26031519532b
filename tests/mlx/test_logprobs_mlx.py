"""Logprobs from a decoding step match a direct log-softmax of the model's logits."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlxk_core import GrammarCompiler, TokenLogprob
from mlxk_core.backends.mlx_logprobs import StepLogprobs, step_logprobs
from tests.factory import QA, REPO_IDS, snapshot_dir


@pytest.fixture(scope="module")
def chat(model_factory: Path) -> tuple[Any, Any]:
    import mlx_lm

    return mlx_lm.load(str(snapshot_dir(model_factory, REPO_IDS["chat"])))  # type: ignore[no-any-return]


def test_the_first_steps_logprobs_are_the_models_log_softmax(chat: tuple[Any, Any]) -> None:
    import mlx.core as mx
    from mlx_lm.generate import generate_step

    model, tokenizer = chat
    prompt = tokenizer.apply_chat_template(QA.FRANCE.messages, add_generation_prompt=True)
    logits = np.array(model(mx.array(prompt)[None])[0, -1].astype(mx.float32))
    direct = logits - np.log(np.exp(logits - logits.max()).sum()) - logits.max()
    token, logprobs = next(generate_step(mx.array(prompt), model, max_tokens=1))

    step = step_logprobs(logprobs, token, top=5)
    best = np.argsort(-direct)[:5]
    assert step.token == token == int(best[0])  # greedy picks the most likely token
    assert step.logprob == pytest.approx(float(direct[token]), abs=1e-4)
    assert [i for i, _ in step.top] == best.tolist()
    assert [v for _, v in step.top] == pytest.approx(direct[best].tolist(), abs=1e-4)
    assert step_logprobs(logprobs, token) == StepLogprobs(token, step.logprob, ())


def test_impossible_tokens_are_not_offered_as_alternatives() -> None:
    import mlx.core as mx

    row = mx.array([-math.inf, math.log(0.75), -math.inf, math.log(0.25)])
    step = step_logprobs(row, 3, top=4)
    assert step.logprob == pytest.approx(math.log(0.25))
    assert [i for i, _ in step.top] == [1, 3]
    assert [v for _, v in step.top] == pytest.approx([math.log(0.75), math.log(0.25)])


def test_the_core_turns_step_logprobs_into_token_text_and_bytes(chat: tuple[Any, Any]) -> None:
    import mlx.core as mx
    from mlx_lm.generate import generate_step

    model, tokenizer = chat
    compiler = GrammarCompiler(tokenizer, eos_token_ids=tokenizer.eos_token_ids)
    prompt = tokenizer.apply_chat_template(QA.FRANCE.messages, add_generation_prompt=True)
    entries = []
    for token, logprobs in generate_step(mx.array(prompt), model, max_tokens=6):
        step = step_logprobs(logprobs, token, top=3)
        entries.append(TokenLogprob.from_ids(*step, compiler.token_bytes))
    text = b"".join(bytes(e.bytes) for e in entries).decode()
    assert QA.FRANCE.answer.startswith(text) and len(text) > 5
    for entry in entries:
        assert entry.top_logprobs[0].token == entry.token  # greedy: the sampled token is the best
        assert entry.logprob == pytest.approx(entry.top_logprobs[0].logprob)
        assert entry.logprob > entry.top_logprobs[1].logprob > entry.top_logprobs[2].logprob
