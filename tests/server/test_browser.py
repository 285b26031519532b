"""A real browser (headless Chromium) against ``mlxk-serve``: what a web page can and cannot do.

A page from another origin (a second local server) fetches the server with the requests a
browser sends cross-site without asking (``text/plain`` POSTs) and with ones that need a CORS
preflight (a JSON POST, reads); it writes what it could read into its DOM, which Chromium
dumps. A name resolved to 127.0.0.1 stands for DNS rebinding. Chromium comes from Debian's
``chromium`` package (``.ci/run`` installs it); without it these tests fail, they never skip.
"""

from __future__ import annotations

import html
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.factory import build_model
from tests.server.test_lifecycle import Served, mlxk_serve

PAGE = b"""<!doctype html><html><head><title>running</title></head><body><pre id="out"></pre>
<script>
const args = new URLSearchParams(location.hash.slice(1));
const target = args.get("target");
const chat = JSON.stringify({model: args.get("model"), max_tokens: 3,
  messages: [{role: "user", content: "What is the capital of France?"}]});
async function attempt(path, init) {
  try {
    const r = await fetch(target + path, init);
    return {type: r.type, status: r.status, text: await r.text()};
  } catch (e) {
    return {error: String(e)};
  }
}
(async () => {
  const found = {};
  found.simple_no_cors = await attempt("/v1/chat/completions", {method: "POST",
    mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: chat});
  found.simple = await attempt("/v1/chat/completions", {method: "POST",
    headers: {"Content-Type": "text/plain"}, body: chat});
  found.json = await attempt("/v1/chat/completions", {method: "POST",
    headers: {"Content-Type": "application/json"}, body: chat});
  found.models = await attempt("/v1/models", {});
  found.health = await attempt("/health", {});
  document.getElementById("out").textContent = JSON.stringify(found);
  document.title = "done";
})();
</script></body></html>
"""
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=15000",  # the DOM is dumped once the page's fetches have settled
]


def chromium_dom(url: str, profile: Path, *flags: str) -> str:
    """The DOM of ``url`` after its scripts ran, as headless Chromium dumps it."""
    exe = shutil.which("chromium")
    assert exe, "these tests need Chromium: apt-get install -y chromium (.ci/run installs it)"
    proc = subprocess.Popen(
        [exe, *FLAGS, f"--user-data-dir={profile}", *flags, "--dump-dom", url],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=120)
    finally:
        with suppress(ProcessLookupError):  # no helper process outlives the test
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 0, out[-2000:]
    return out.decode()


@contextmanager
def page_server() -> Iterator[str]:
    """A second local server (another origin) serving the attacking page; its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200 if self.path == "/page.html" else 404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(PAGE if self.path == "/page.html" else b"")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_page(page: str, served: Served, repo: str, profile: Path) -> tuple[str, dict[str, Any]]:
    """Load the page aimed at ``served``; the dumped DOM and what the page found."""
    dom = chromium_dom(f"{page}/page.html#" + urlencode({"target": served.url, "model": repo}),
                       profile)
    assert "<title>done</title>" in dom, dom[-2000:]
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return dom, json.loads(html.unescape(found.group(1)))


def access(served: Served, request: str) -> list[str]:
    """The statuses the server answered ``request`` (such as ``POST /v1/models``) with."""
    pattern = re.compile(re.escape(f'"{request} HTTP/1.1" ') + r"(\d{3})")
    return pattern.findall(served.log.read_text())


def test_a_web_page_can_neither_run_a_model_nor_read_the_server(
    hf_cache: Path, tmp_path: Path
) -> None:
    """Cross-site text/plain POSTs reach the server and are refused (415) before any work; the
    JSON POST is stopped by the CORS preflight; the page reads nothing; a rebound name is 403."""
    repo = build_model("chat", hf_cache)
    with mlxk_serve(hf_cache, "--log-level", "info") as served, page_server() as page:
        dom, found = run_page(page, served, repo, tmp_path / "profile")
        assert found["simple_no_cors"] == {"type": "opaque", "status": 0, "text": ""}, found
        for name in ("simple", "json", "models", "health"):
            assert set(found[name]) == {"error"}, (name, found)
        assert repo not in dom
        # both text/plain POSTs arrived and were refused; the JSON one never left the browser
        assert access(served, "POST /v1/chat/completions") == ["415", "415"]
        assert access(served, "OPTIONS /v1/chat/completions") == ["405"]
        assert access(served, "GET /v1/models") == ["200"]  # answered, but not to the page
        assert f"loaded {repo}" not in served.log.read_text()
        doc = httpx.get(served.url + "/health").json()
        assert doc["loaded"] == [] and doc["active"] == 0 and doc["waiting"] == 0, doc

        # DNS rebinding: a name of the attacker's that now resolves to 127.0.0.1
        port = served.url.rsplit(":", 1)[1]
        rebound = chromium_dom(f"http://rebound.test:{port}/v1/models", tmp_path / "rebound",
                               "--host-resolver-rules=MAP rebound.test 127.0.0.1")
        assert "host_not_allowed" in rebound and repo not in rebound, rebound[-2000:]
        assert access(served, "GET /v1/models")[-1] == "403"


def test_an_origin_granted_by_cors_origins_can_read_and_run(
    hf_cache: Path, tmp_path: Path
) -> None:
    """The same page, from an origin granted with ``--cors-origins``, reads the model list and
    runs the model with the JSON POST (so the test above would see a read or a run); its
    text/plain POST is still refused (415, now readable)."""
    repo = build_model("chat", hf_cache)
    with page_server() as page, mlxk_serve(hf_cache, "--log-level", "info",
                                           "--cors-origins", page) as served:
        dom, found = run_page(page, served, repo, tmp_path / "profile")
        assert found["models"]["status"] == 200, found
        assert [m["id"] for m in json.loads(found["models"]["text"])["data"]] == [repo]
        assert found["json"]["status"] == 200, found
        assert json.loads(found["json"]["text"])["choices"][0]["message"]["content"]
        assert found["simple"]["status"] == 415, found
        assert found["simple_no_cors"]["type"] == "opaque", found
        assert access(served, "POST /v1/chat/completions") == ["415", "415", "200"]
        assert f"loaded {repo}" in served.log.read_text()
