"""Server faults: models that break on disk, at load or mid-generation, or vanish while in use.

Each failing request gets a clear OpenAI-shaped error (a stream gets an error event, then
[DONE]), /health names the failing model, the model is released, and the server goes on
serving other models and the next request.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlxk_core.backends.fake import FakeBackend
from mlxk_core.cache.records import ResolvedModel
from tests.factory import QA, STORY, build_model, snapshot_dir
from tests.reliability.pulltools import mlxk
from tests.reliability.recorder import Figures
from tests.reliability.servertools import (
    CHAT_BODY,
    Factory,
    assert_error,
    health,
    serve_factory,
    serve_fakes,
    slowed_mlx,
    stream_events,
    wait_idle,
)

CHAT_ID, BASE_ID = "mlx-community/tiny-chat", "test-org/tiny-base"


def _first_then(first: Callable[[], FakeBackend]) -> tuple[Callable[[ResolvedModel], Any],
                                                          list[FakeBackend]]:
    """A factory whose first backend is ``first()``, later ones sound; and all it made."""
    made: list[FakeBackend] = []

    def factory(model: ResolvedModel) -> FakeBackend:
        backend = first() if not made else FakeBackend()
        made.append(backend)
        return backend

    return factory, made


def _ok(url: str) -> None:
    r = httpx.post(url + "/v1/chat/completions", json=CHAT_BODY, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "Hello, world!"


def test_a_model_that_fails_to_load_is_released_and_the_next_load_works(
    hf_cache: Path, figures: Figures
) -> None:
    """Load raises: 500 model_load_failed, /health names the model, nothing stays loaded;
    the next request loads it afresh and succeeds, and /health forgets the problem."""
    factory, made = _first_then(lambda: FakeBackend(fail_on_load=True))
    with serve_fakes(hf_cache, factory) as url:
        err = assert_error(httpx.post(url + "/v1/chat/completions", json=CHAT_BODY), 500)
        figures.fault("backend raised an error")
        assert err["code"] == "model_load_failed" and "fake/chat" in err["message"]
        doc = health(url)
        assert doc["loaded"] == [] and not made[0].loaded
        assert [(p["model"], p["code"]) for p in doc["problems"]] == [
            ("fake/chat", "model_load_failed")
        ]
        _ok(url)
        figures.answer()
        assert health(url)["problems"] == []


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_model_that_fails_mid_generation_is_released_and_reloaded(
    hf_cache: Path, figures: Figures, stream: bool
) -> None:
    """The forward pass raises after two tokens: a 500 (or an SSE error event then [DONE]),
    the broken backend is closed and unloaded, the next request gets a fresh one."""
    factory, made = _first_then(lambda: FakeBackend(fail_at=2, eos=False))
    with serve_fakes(hf_cache, factory) as url:
        body = {**CHAT_BODY, "stream": stream}
        figures.fault("backend raised an error")
        if stream:
            with httpx.stream("POST", url + "/v1/chat/completions", json=body) as r:
                events = list(stream_events(r))
            assert events[-1] == "[DONE]"
            errors = [e for e in events if isinstance(e, dict) and "error" in e]
            assert [e["error"]["code"] for e in errors] == ["generation_failed"]
        else:
            err = assert_error(httpx.post(url + "/v1/chat/completions", json=body), 500)
            assert err["code"] == "generation_failed"
        doc = wait_idle(url)
        assert doc["loaded"] == [] and not made[0].loaded
        assert [p["code"] for p in doc["problems"]] == ["generation_failed"]
        _ok(url)
        figures.answer()
        assert len(made) == 2 and made[1].loaded


@pytest.fixture
def two_models(hf_cache: Path) -> Path:
    build_model("chat", hf_cache)
    build_model("base", hf_cache)
    return hf_cache


def _damage(cache: Path, repo: str, how: str) -> None:
    snap = snapshot_dir(cache, repo)
    weights = Path(os.path.realpath(snap / "model.safetensors"))
    if how == "weights truncated":
        os.truncate(weights, weights.stat().st_size // 2)
    elif how == "weights deleted":
        os.unlink(weights)
    elif how == "config not json":
        Path(os.path.realpath(snap / "config.json")).write_text("{not json")
    elif how == "tokenizer deleted":
        os.unlink(os.path.realpath(snap / "tokenizer.json"))
    else:
        assert mlxk("rm", repo, "--force").exit_code == 0


def _chat(url: str) -> None:
    r = httpx.post(url + "/v1/chat/completions", timeout=60,
                   json={"model": CHAT_ID, "messages": QA.FRANCE.messages})
    assert r.json()["choices"][0]["message"]["content"] == QA.FRANCE.answer, r.text


@pytest.mark.parametrize(
    "how",
    ["weights truncated", "weights deleted", "config not json", "tokenizer deleted",
     "repo removed"],
)
def test_model_files_damaged_while_serving(
    two_models: Path, figures: Figures, how: str
) -> None:
    """Files of a served model damaged or removed while the server runs: requests for it get
    a clear 500 (or 404 once it is gone), /health names the problem, the other model serves."""
    with serve_factory(two_models) as url:
        base = {"model": BASE_ID, "prompt": STORY.prompt}
        assert httpx.post(url + "/v1/completions", json=base, timeout=60).status_code == 200
        _chat(url)  # the chat model is loaded now; the base model was swapped out
        figures.answer()
        _damage(two_models, BASE_ID, how)
        figures.fault("model removed while in use" if how == "repo removed"
                      else "file damaged on disk")
        r = httpx.post(url + "/v1/completions", json=base, timeout=60)
        if how == "repo removed":
            assert assert_error(r, 404)["code"] == "model_not_found"
            figures.http(r)  # a removed model is not found: refused as intended
        else:
            err = assert_error(r, 500)
            assert err["code"] in ("unhealthy_model", "model_load_failed"), err
            assert BASE_ID in err["message"]
            problems = {p["model"]: p["code"] for p in health(url)["problems"]}
            assert problems == {BASE_ID: err["code"]}
        _chat(url)
        figures.answer()
        assert health(url)["status"] == "ok"


def _events(r: httpx.Response) -> Iterator[dict[str, Any] | str]:
    yield from stream_events(r)


def test_rm_while_the_server_generates(two_models: Path, figures: Figures) -> None:
    """`mlxk rm` of the model a stream is generating with: the stream ends cleanly (finish or
    an error event, then [DONE]); the next request for it is a 404; the server goes on."""
    with serve_factory(two_models, Factory(slowed_mlx(0.02))) as url:
        body = {"model": BASE_ID, "prompt": "a a a a a a", "max_tokens": 1500, "stream": True,
                "stop": ["never-appears"]}
        with httpx.stream("POST", url + "/v1/completions", json=body, timeout=60) as r:
            events = _events(r)
            first = next(events)
            assert isinstance(first, dict) and "choices" in first
            assert health(url)["active"] == 1  # the generation is live
            removed: list[int] = []
            rm = threading.Thread(target=lambda: removed.append(mlxk("rm", BASE_ID, "--force")
                                                                .exit_code))
            rm.start()
            rest = list(events)
            rm.join(60)
        figures.fault("model removed while in use")
        assert removed == [0]
        assert rest[-1] == "[DONE]"
        ends = [e for e in rest if isinstance(e, dict)
                and ("error" in e or e["choices"][0]["finish_reason"])]
        assert len(ends) == 1, ends
        again = httpx.post(url + "/v1/completions", json={**body, "stream": False}, timeout=60)
        assert assert_error(again, 404)["code"] == "model_not_found"
        figures.http(again)
        _chat(url)
        figures.answer()
        wait_idle(url)
