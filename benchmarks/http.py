"""Servers as processes and streaming clients over HTTP, timed the same way for every server."""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.timing import p95

__all__ = ["Level", "Stream", "chat_stream", "free_port", "level", "one_request", "server"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(argv: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[str]:
    """Start a server process, wait until ``/v1/models`` answers; SIGTERM it afterwards."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=sink,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{argv[:3]} exited:\n{log.read_text()[-2000:]}")
                try:
                    if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{argv[:3]} did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


@dataclass(frozen=True)
class Stream:
    """One streamed answer: time to first text, completion tokens, time to the end."""

    first_s: float
    tokens: int
    end_s: float


def chat_stream(url: str, model: str, prompt: str, max_tokens: int,
                started: float | None = None) -> Stream:
    """A greedy streaming chat request; tokens from the usage chunk the stream ends with."""
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": True,
            "max_tokens": max_tokens, "temperature": 0.0,
            "stream_options": {"include_usage": True}}
    start = time.perf_counter() if started is None else started
    first = 0.0
    tokens = None
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=900) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: {"):
                continue
            event = json.loads(line[6:])
            choices = event.get("choices") or [{}]
            if not first and (choices[0].get("delta") or {}).get("content"):
                first = time.perf_counter()
            if event.get("usage"):
                tokens = event["usage"]["completion_tokens"]
    if tokens is None or not first:
        raise RuntimeError(f"{url}: a stream without text or without usage")
    return Stream(first - start, tokens, time.perf_counter() - start)


def one_request(url: str, model: str, prompt: str) -> float:
    """Seconds for a whole (non-streaming) one-token chat request."""
    body = {"model": model, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": 1, "temperature": 0.0}
    start = time.perf_counter()
    r = httpx.post(url + "/v1/chat/completions", json=body, timeout=300)
    took = time.perf_counter() - start
    r.raise_for_status()
    assert r.json()["usage"]["completion_tokens"] == 1, r.text
    return took


@dataclass(frozen=True)
class Level:
    """What ``n`` concurrent streaming clients saw."""

    aggregate_tps: float
    ttft_p95: float
    ttft_median: float
    tokens: int


def level(url: str, model: str, prompts: Sequence[str], max_tokens: int) -> Level:
    """One client per prompt, all sending at once; aggregate tok/s and time to first token."""
    results: list[Stream] = []
    errors: list[BaseException] = []
    go = threading.Barrier(len(prompts) + 1)
    began: list[float] = []

    def client(prompt: str) -> None:
        go.wait()
        try:
            results.append(chat_stream(url, model, prompt, max_tokens, began[0]))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(p,)) for p in prompts]
    for t in threads:
        t.start()
    began.append(time.perf_counter())
    go.wait()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{url}: {len(errors)} clients failed") from errors[0]
    tokens = sum(s.tokens for s in results)
    ttfts = [s.first_s for s in results]
    return Level(tokens / max(s.end_s for s in results), p95(ttfts), statistics.median(ttfts),
                 tokens)
