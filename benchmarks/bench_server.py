"""Server throughput: mlxk-serve against Runner.stream and against mlx_lm.server, side by side.

One random model of SmolLM2-135M's shape, stored in a temp hub cache. Row 1: one streaming
client through HTTP against ``Runner.stream`` on the same weights (tokens/s). Then 1/4/8/16
concurrent streaming clients (greedy, fixed max_tokens, ``ignore_eos``-free random weights so
every stream runs to its budget) against both servers: aggregate tokens/s and time to first
token p50/p95, with ratios ours / mlx_lm.server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

TITLE = "server: mlxk-serve vs Runner.stream and mlx_lm.server (SmolLM2-135M shape, greedy)"
REPO = "bench/smollm2-135m-random"
MAX_TOKENS = 64
LEVELS = (1, 4, 8, 16)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(argv: list[str], url: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/v1/models", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not start")


def _stream(url: str, model: str, prompt: str, out: list[tuple[float, int, float]]) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": True,
            "max_tokens": MAX_TOKENS, "temperature": 0.0}
    start = time.perf_counter()
    first = 0.0
    tokens = 0
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=300) as r:
        for line in r.iter_lines():
            if not line.startswith("data: {"):
                continue
            choices = json.loads(line[6:]).get("choices") or [{}]
            if (choices[0].get("delta") or {}).get("content"):
                tokens += 1
                first = first or time.perf_counter()
    out.append((first - start, tokens, time.perf_counter() - start))


def _level(url: str, model: str, clients: int) -> dict[str, float]:
    results: list[tuple[float, int, float]] = []
    threads = [threading.Thread(target=_stream, args=(url, model, f"Story number {i}", results))
               for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ttfts = sorted(r[0] for r in results)
    p95 = ttfts[min(len(ttfts) - 1, int(round(0.95 * (len(ttfts) - 1))))]
    return {"tps": sum(r[1] for r in results) / wall, "p50": statistics.median(ttfts), "p95": p95}


def _runner_tps(path: Path) -> float:
    from mlxk_core.cache.facts import read_facts
    from mlxk_core.cache.records import Health, ResolvedModel
    from mlxk_core.generation.request import GenerationRequest
    from mlxk_core.generation.runner import Runner

    model = ResolvedModel(REPO, path, read_facts(path), Health(True), repo_id=REPO)
    request = GenerationRequest.chat([("user", "Story number 0")], max_tokens=MAX_TOKENS)
    with Runner(model) as runner:
        best = 0.0
        for _ in range(2):
            first = end = 0.0
            tokens = 0
            for chunk in runner.stream(request):
                end = time.perf_counter()
                first = first or end
                tokens += bool(chunk.text)
            best = max(best, (tokens - 1) / (end - first))
    return best


def run() -> list[dict[str, object]]:
    """Measure and return the table rows."""
    from mlxk_core.cache.store import store_snapshot
    from tests.factory.random_llama import SMOLLM2_135M, build_random_llama

    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        src = build_random_llama(Path(tmp) / "src", {**SMOLLM2_135M, "vocab_size": 432})
        cache = Path(tmp) / "hub"
        files = {p.name: p for p in src.iterdir() if p.is_file()}
        snapshot = store_snapshot(cache, REPO, files)
        env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
        ours_url, peer_url = f"http://127.0.0.1:{_port()}", f"http://127.0.0.1:{_port()}"
        bin_dir = Path(sys.executable).parent
        ours = _start([str(bin_dir / "mlxk-serve"), "--port", ours_url.rsplit(":", 1)[1],
                       "--model", REPO, "--log-level", "warning"], ours_url, env)
        peer = None
        try:
            _level(ours_url, REPO, 1)  # warm-up
            direct = _runner_tps(snapshot)
            http = _level(ours_url, REPO, 1)["tps"]
            rows.append({"case": "1 stream: HTTP / Runner.stream", "ours": http,
                         "peer": direct, "ratio": http / direct})
            peer = _start([sys.executable, "-m", "mlx_lm.server", "--model", str(snapshot),
                           "--port", peer_url.rsplit(":", 1)[1]], peer_url, env)
            _level(peer_url, str(snapshot), 1)  # warm-up
            for clients in LEVELS:
                a = _level(ours_url, REPO, clients)
                b = _level(peer_url, str(snapshot), clients)
                rows.append({"case": f"{clients} clients: aggregate tok/s", "ours": a["tps"],
                             "peer": b["tps"], "ratio": a["tps"] / b["tps"]})
                for q in ("p50", "p95"):
                    rows.append({"case": f"{clients} clients: TTFT {q} s", "ours": a[q],
                                 "peer": b[q], "ratio": a[q] / b[q] if b[q] else 0.0})
        finally:
            for proc in (ours, peer):
                if proc is not None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    return rows


def _main() -> None:
    for row in run():
        print(row)


if __name__ == "__main__":
    _main()
