"""TokenPolicy: requested honoured, full or half context by default, clamped to the room left."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlxk_core.errors import ContextOverflow, InvalidRequest
from mlxk_core.generation.tokens import DEFAULT_MAX_TOKENS, PolicyMode, TokenPolicy

modes = st.sampled_from(["run", "server"])
contexts = st.integers(min_value=1, max_value=1_000_000)
requests = st.none() | st.integers(min_value=1, max_value=2_000_000)


@settings(max_examples=300, deadline=None)
@given(mode=modes, context=contexts, data=st.data(), requested=requests)
def test_budget_fits_in_the_room_left(
    mode: PolicyMode, context: int, data: st.DataObject, requested: int | None
) -> None:
    prompt = data.draw(st.integers(min_value=0, max_value=context - 1))
    room = context - prompt
    result = TokenPolicy(mode=mode).max_tokens(
        prompt_tokens=prompt, context_length=context, requested=requested
    )
    assert 1 <= result <= room
    if requested is not None:
        assert result == min(requested, room)
    elif mode == "run":
        assert result == room
    else:
        assert result == min(max(1, context // 2), room)


@settings(max_examples=100, deadline=None)
@given(mode=modes, context=contexts, extra=st.integers(0, 10_000), requested=requests)
def test_prompt_filling_the_context_is_an_error(
    mode: PolicyMode, context: int, extra: int, requested: int | None
) -> None:
    with pytest.raises(ContextOverflow) as info:
        TokenPolicy(mode=mode).max_tokens(
            prompt_tokens=context + extra, context_length=context, requested=requested
        )
    assert info.value.prompt_tokens == context + extra
    assert info.value.context_length == context


@settings(max_examples=100, deadline=None)
@given(mode=modes, prompt=st.integers(0, 10**6), requested=requests, default=st.integers(1, 10**5))
def test_unknown_context_uses_request_or_default_unclamped(
    mode: PolicyMode, prompt: int, requested: int | None, default: int
) -> None:
    policy = TokenPolicy(mode=mode, unknown_context_default=default)
    result = policy.max_tokens(prompt_tokens=prompt, context_length=None, requested=requested)
    assert result == (requested if requested is not None else default)


def test_documented_defaults() -> None:
    assert DEFAULT_MAX_TOKENS == 2048
    assert TokenPolicy().max_tokens(prompt_tokens=10, context_length=None) == 2048
    assert TokenPolicy().max_tokens(prompt_tokens=10, context_length=4096) == 4086
    assert TokenPolicy(mode="server").max_tokens(prompt_tokens=10, context_length=4096) == 2048
    assert TokenPolicy(mode="server").max_tokens(prompt_tokens=3000, context_length=4096) == 1096


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(InvalidRequest):
        TokenPolicy().max_tokens(prompt_tokens=1, context_length=10, requested=0)
    with pytest.raises(InvalidRequest):
        TokenPolicy().max_tokens(prompt_tokens=-1, context_length=10)
    with pytest.raises(InvalidRequest):
        TokenPolicy(unknown_context_default=0)
