"""Server shutdown: SIGTERM to a real `mlxk-serve` under heavy streaming load.

Sixteen clients stream completions back to back from the trained model; SIGTERM must end the
process with exit 0 within a bound, every client's stream must end (never hang), no child
process may outlive it, and the port must be free again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.factory import build_model
from tests.programs import assert_port_free, console_script, free_port, wait_healthy
from tests.reliability.recorder import Figures

CLIENTS = 16
BOUND_S = 10.0


class Client(threading.Thread):
    """Streams completions back to back until the server goes away."""

    def __init__(self, url: str, model: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.model, self.stop = url, model, stop
        self.done = 0  # streams that ended with [DONE]
        self.ended_by_server = False
        self.error: BaseException | None = None

    def run(self) -> None:
        body = {"model": self.model, "prompt": "a a a a a a", "max_tokens": 120, "stream": True}
        try:
            with httpx.Client(base_url=self.url, timeout=30) as client:
                while not self.stop.is_set():
                    with client.stream("POST", "/v1/completions", json=body) as r:
                        if r.status_code != 200:  # refused while shutting down
                            self.ended_by_server = r.status_code in (429, 503)
                            return
                        lines = list(r.iter_lines())
                    if "data: [DONE]" in lines:
                        self.done += 1
        except (httpx.TransportError, httpx.RemoteProtocolError):
            self.ended_by_server = True
        except BaseException as exc:  # reported by the test thread
            self.error = exc


@pytest.mark.reliability
def test_sigterm_under_load_exits_zero_and_leaves_nothing(
    hf_cache: Path, figures: Figures
) -> None:
    """SIGTERM during 16 streaming clients: exit 0 within 10 s, every client's stream ends,
    no child process left, the port is free."""
    repo = build_model("chat", hf_cache)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = hf_cache.parent / "serve.log"
    proc = subprocess.Popen(
        [console_script("mlxk-serve"), "--port", str(port), "--log-level", "warning",
         "--max-queue", "64"],
        env={**os.environ, "HF_HUB_CACHE": str(hf_cache)}, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )
    stop = threading.Event()
    clients = [Client(url, repo, stop) for _ in range(CLIENTS)]
    try:
        wait_healthy(url, proc, within=60, log=log)
        for c in clients:
            c.start()
        deadline = time.monotonic() + 60
        while sum(c.done for c in clients) < CLIENTS and time.monotonic() < deadline:
            time.sleep(0.05)
        assert httpx.get(url + "/health").json()["active"] > 0  # under load right now
        children = psutil.Process(proc.pid).children(recursive=True)
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        figures.fault("process sent SIGTERM")
        code = proc.wait(timeout=BOUND_S + 5)
        took = time.monotonic() - start
        stop.set()
        for c in clients:
            c.join(BOUND_S)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace")
    assert code == 0, text
    assert took < BOUND_S, f"shutdown took {took:.1f} s\n{text}"
    assert not any(c.is_alive() for c in clients), "a client's stream never ended"
    assert [c.error for c in clients if c.error] == []
    assert "Traceback" not in text, text
    assert not [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    figures.answer(sum(c.done for c in clients))  # streams that ended with [DONE]
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health")
    assert_port_free(port)
