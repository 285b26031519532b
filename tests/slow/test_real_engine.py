"""The engine on the real SmolLM2-135M-Instruct in a real ``mlxk-serve``: a long prefill does
not hold a short request back, and SIGTERM during it ends everything within seconds."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mlxk_core.gguf import ImportResult
from tests.server.test_lifecycle import Served, mlxk_serve

pytestmark = pytest.mark.slow

LONG = "Here is a note about the weather in many towns. " * 180  # ~2,000 tokens
SHORT = "What is the capital of France?"


@contextmanager
def _served(imported: ImportResult, tmp_path: Path) -> Iterator[Served]:
    cache = imported.snapshot_path.parents[2]
    env = {"HF_HUB_CACHE": str(cache), "HF_HOME": str(cache.parent)}
    with mlxk_serve(tmp_path / "x", "--model", imported.repo_id, "--log-level", "warning",
                    env=env) as served:
        yield served


def _ttft(url: str, model: str, text: str, max_tokens: int = 8) -> float:
    """Seconds until the first streamed content of a chat request."""
    body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": True,
            "max_tokens": max_tokens, "temperature": 0}
    start = time.monotonic()
    first = None
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=300) as r:
        for line in r.iter_lines():
            content = line.startswith("data: {") and '"content":"' in line
            if first is None and content and '"content":""' not in line:
                first = time.monotonic() - start
    assert first is not None, "no content streamed"
    return first


def test_a_short_request_is_not_held_behind_a_2000_token_prefill(
    imported: ImportResult, tmp_path: Path
) -> None:
    with _served(imported, tmp_path) as served:
        url = served.url
        alone_short = _ttft(url, imported.repo_id, SHORT)
        alone_long = _ttft(url, imported.repo_id, LONG + "1")
        during: list[float] = []
        long = threading.Thread(target=_ttft, args=(url, imported.repo_id, LONG + "2"))
        long.start()
        time.sleep(alone_long * 0.2)  # well into the long prompt's prefill
        during.append(_ttft(url, imported.repo_id, SHORT + " "))
        long.join(300)
    chunk = alone_long * 512 / 2000  # one prefill chunk of the long prompt
    print(json.dumps({"short_alone": alone_short, "long_alone": alone_long,
                      "short_during": during[0]}))
    assert during[0] < alone_short + 1.5 * chunk  # about one chunk: the one in progress
    assert during[0] < alone_long * 0.8


def test_sigterm_during_a_long_prefill_exits_within_seconds(
    imported: ImportResult, tmp_path: Path
) -> None:
    with _served(imported, tmp_path) as served:
        body = {"model": imported.repo_id, "stream": True, "max_tokens": 50,
                "messages": [{"role": "user", "content": LONG * 3}]}
        events: list[str] = []

        def stream() -> None:
            with httpx.stream("POST", served.url + "/v1/chat/completions", json=body,
                              timeout=300) as r:
                events.extend(line for line in r.iter_lines() if line)

        reader = threading.Thread(target=stream)
        reader.start()
        time.sleep(3.0)  # the ~6,000-token prompt takes far longer than this to prefill
        start = time.monotonic()
        os.killpg(served.proc.pid, signal.SIGTERM)
        code = served.proc.wait(timeout=10)
        took = time.monotonic() - start
        reader.join(10)
    assert code == 0
    assert took < 5.0
    assert events and events[-1] == "data: [DONE]"
