"""Server security: hostile model names never load anything; the API key guards every endpoint.

Traversal, absolute, encoded and cache-escaping names in request bodies and URLs are refused
without the backend factory ever being called for them; with an API key set, every endpoint
but /health (then liveness only) answers 401 (OpenAI shape) to a missing or wrong key, and the
key never shows up in a response or in the server's log.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from mlxk_core.backends.fake import FakeBackend
from mlxk_core.version import __version__
from mlxk_server import auth
from tests.fakehub.fixtures import cache_picture
from tests.reliability.recorder import Figures
from tests.reliability.servertools import (
    CHAT_BODY,
    Factory,
    assert_error,
    health,
    serve_factory,
    serve_fakes,
)
from tests.reliability.test_hostile_names import LEGIT, World, _names


@pytest.fixture
def world(hf_cache: Path, tmp_path: Path) -> World:
    """The cache with escaping repos, and the outside folder to protect."""
    return World(hf_cache, tmp_path / "outside").build()


def test_hostile_model_names_are_never_loaded(world: World, figures: Figures) -> None:
    """Every hostile name, in chat and completion bodies and in /v1/models/{id} (plain and
    URL-encoded): a 4xx (or a 500 naming an unhealthy escaping repo), the backend factory is
    never called for it, nothing outside the cache changes, and the sound model still loads."""
    factory = Factory(lambda model: FakeBackend())
    before = world.picture()
    with serve_factory(world.cache, factory) as url, httpx.Client(base_url=url) as client:
        for name in _names(world):
            for r in (
                client.post("/v1/chat/completions", json={**CHAT_BODY, "model": name}),
                client.post("/v1/completions", json={"model": name, "prompt": "hi"}),
                client.get("/v1/models/" + quote(name, safe="/")),
                client.get("/v1/models/" + quote(name, safe="")),
            ):
                err = assert_error(r, 400, 404, 500)
                if r.status_code == 500:  # an escaping repo: refused as unhealthy
                    assert err["code"] == "unhealthy_model", err
                figures.http(r)
            assert factory.asked == [], (name, factory.asked)
        listed = {m["id"] for m in client.get("/v1/models").json()["data"]}
        assert listed == {LEGIT}
        ok = client.post("/v1/chat/completions", json={**CHAT_BODY, "model": LEGIT})
        assert ok.status_code == 200, ok.text
        assert ok.json()["choices"][0]["message"]["content"], ok.text
        figures.http(ok)
        assert [m.repo_id for m in factory.asked] == [LEGIT]
        assert health(url)["status"] == "ok"
    assert world.picture() == before
    assert cache_picture(world.cache / "models--mlx-community--Tiny-Chat-4bit")


KEY = "sk-mlxk-Zq8vR2xT5mW9yB1c"
WRONG = [
    None, "sk-mlxk-Zq8vR2xT5mW9yB1d", "sk-mlxk-Zq8vR2xT5mW9yB1", KEY + "x", KEY.upper(),
    "x" * len(KEY), "x", "x" * 4096, KEY + " x", "Basic " + KEY, KEY[::-1],
]
ENDPOINTS = [
    ("GET", "/v1/models"), ("GET", "/v1/models/fake/chat"), ("GET", "/v1/loaded"),
    ("POST", "/v1/chat/completions"), ("POST", "/v1/completions"), ("GET", "/v1/nothing"),
    ("DELETE", "/v1/models/fake/chat"),
]


def _headers(key: str | None, how: str) -> dict[str, str]:
    if key is None:
        return {}
    return {"Authorization": f"Bearer {key}"} if how == "bearer" else {"X-Api-Key": key}


def test_api_key_guards_every_endpoint_and_never_leaks(
    hf_cache: Path, figures: Figures, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Missing, wrong, truncated, extended, same-length and huge keys (as bearer or
    X-Api-Key) are all 401 on every endpoint but /health (liveness only), compared with
    compare_digest; the right key works; neither the key nor a presented key appears in
    responses or logs."""
    compared: list[int] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(len(a))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    caplog.set_level(logging.DEBUG)
    factory = Factory(lambda model: FakeBackend(fail_on_load=True))  # failures get logged
    with serve_fakes(hf_cache, factory, api_key=KEY) as url, httpx.Client(base_url=url) as c:
        assert c.get("/health").json() == {"status": "ok", "version": __version__}
        compared.clear()  # /health compared the (missing) key to choose what to show
        seen = []
        for key in WRONG:
            for how in ("bearer", "header"):
                for method, path in ENDPOINTS:
                    r = c.request(method, path, headers=_headers(key, how), json=CHAT_BODY)
                    err = assert_error(r, 401)
                    assert err["code"] == "invalid_api_key"
                    figures.http(r)
                    seen.append(r.text)
        assert len(compared) == len(WRONG) * 2 * len(ENDPOINTS)
        assert factory.asked == []
        for how in ("bearer", "header"):
            listed = c.get("/v1/models", headers=_headers(KEY, how))
            assert listed.status_code == 200
            assert listed.json()["object"] == "list"
            figures.http(listed)
            failed = c.post("/v1/chat/completions", headers=_headers(KEY, how), json=CHAT_BODY)
            seen.append(failed.text)
            assert_error(failed, 500)  # the request got through the key check
            figures.fault("backend raised an error")  # its load fails, so failures get logged
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for text in (*seen, logged):
        assert KEY not in text and KEY[:12] not in text
        assert all(k not in text for k in WRONG if k and len(k) > 3)
    assert "Traceback" not in "".join(seen)
