"""Server context limits: prompts longer than the model's context are a clear 400.

On the factory's 256-token model, chat and completion prompts from just past the context to
hundreds of times past it, streaming or not: 400 ``context_length_exceeded`` naming both
lengths, no generation started, no crash, and the model answers the next request.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.factory import QA, build_model
from tests.reliability.recorder import Figures
from tests.reliability.servertools import assert_error, serve_factory, wait_idle

CTX_ID = "test-org/tiny-ctx"


def _long(words: int) -> str:
    return " ".join(["the cat sat on the mat"] * (words // 6 + 1))


@pytest.mark.parametrize("words", [300, 2_000, 60_000])
def test_prompts_past_the_context_are_a_clear_400(
    hf_cache: Path, figures: Figures, words: int
) -> None:
    """A prompt of ``words`` words on the 256-token model, as chat and as completion, whole
    and streamed: 400 context_length_exceeded naming the context; then a normal answer."""
    build_model("small-context", hf_cache)
    prompt = _long(words)
    bodies = [
        ("/v1/chat/completions", {"model": CTX_ID, "messages": [{"role": "user",
                                                                 "content": prompt}]}),
        ("/v1/completions", {"model": CTX_ID, "prompt": prompt}),
    ]
    with serve_factory(hf_cache) as url, httpx.Client(base_url=url, timeout=120) as client:
        for path, body in bodies:
            for stream in (False, True):
                r = client.post(path, json={**body, "stream": stream, "max_tokens": 10})
                err = assert_error(r, 400)
                assert err["code"] == "context_length_exceeded", err
                assert "256" in err["message"], err
                figures.http(r)
        doc = wait_idle(url)
        assert doc["problems"] == []
        ok = client.post("/v1/chat/completions",
                         json={"model": CTX_ID, "messages": QA.FRANCE.messages})
        assert ok.json()["choices"][0]["message"]["content"] == QA.FRANCE.answer
        figures.http(ok)
