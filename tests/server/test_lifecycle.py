"""``mlxk-serve`` as a process: start-up log, flags, SIGINT/SIGTERM mid-stream (exit 0, clean)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from mlxk_core.backends.blas import BLAS_HINT
from tests.factory import QA, build_model
from tests.programs import assert_port_free, console_script, free_port, wait_healthy


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


def _as_in_a_terminal() -> None:
    # a background job starts with SIGINT ignored; a terminal's Ctrl-C expects the default
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


@contextmanager
def mlxk_serve(cache: Path, *flags: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """``mlxk-serve`` in its own process group on a free port, answering /health.

    Its log holds stderr and stdout (uvicorn's access log: one line per request and status).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = cache.parent / f"serve-{port}.log"
    proc = subprocess.Popen(
        [console_script("mlxk-serve"), "--port", str(port), *flags],
        env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
        stdout=log.open("wb"), stderr=subprocess.STDOUT, preexec_fn=_as_in_a_terminal,
        start_new_session=True,
    )
    try:
        wait_healthy(url, proc, log=log)
        yield Served(url, proc, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_stream_exits_zero_and_frees_the_port(hf_cache: Path, sig: int) -> None:
    repo = build_model("chat", hf_cache)
    with mlxk_serve(hf_cache, "--log-level", "warning") as served:
        url, proc = served.url, served.proc
        assert httpx.get(url + "/health").json()["loaded"] == []  # no model at start-up
        body = {"model": repo, "messages": QA.FRANCE.messages, "stream": True,
                "max_tokens": 200, "stop": ["never-appears"]}
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as r:
            lines = r.iter_lines()
            next(line for line in lines if line.startswith("data: "))
            start = time.monotonic()
            proc.send_signal(sig)
            rest = [line for line in lines if line]
        assert proc.wait(timeout=10) == 0, served.log.read_text()
        assert time.monotonic() - start < 8
        assert rest[-1] == "data: [DONE]"  # the stream ended with its last chunk, then [DONE]
        assert json.loads(rest[-2][6:])["choices"][0]["finish_reason"] in ("stop", "length")
        assert _group_members(proc.pid) == []  # nothing it started outlives it
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health")
    assert_port_free(int(url.rsplit(":", 1)[1]))


def test_start_up_log_names_the_blas_hints_once_and_flags_reach_the_backend(
    hf_cache: Path,
) -> None:
    repo = build_model("chat-8bit", hf_cache)
    flags = ("--log-level", "info", "--dtype", "bfloat16", "--dequantize")
    with mlxk_serve(hf_cache, *flags, env={"MLXK_BLAS": "none"}) as served:
        started = served.log.read_text()
        assert "BLAS: reference; disabled by MLXK_BLAS=none" in started
        assert started.count(BLAS_HINT) == 1
        body = {"model": repo, "messages": QA.FRANCE.messages, "max_tokens": 2}
        reply = httpx.post(served.url + "/v1/chat/completions", json=body, timeout=30)
        assert reply.status_code == 200
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=10) == 0
    log = served.log.read_text()
    assert f"loaded {repo} (weights: cpu: bfloat16 compute, dense weights requested)" in log
    assert log.count(BLAS_HINT) == 1  # not again when the model loads
