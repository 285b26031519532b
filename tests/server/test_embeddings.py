"""Embeddings over real HTTP on fake backends: OpenAI's shape through the official client (float
and base64), Ollama's /api/embed and /api/embeddings shapes, and the 400s in each shape."""

from __future__ import annotations

import base64
import struct

import httpx
import ollama
import openai
import pytest

from mlxk_core import EmbeddingFacts, FakeBackend, FakeEmbeddingBackend, ModelFacts

EMBED = ModelFacts("mlx", "embedding", embedding=EmbeddingFacts("encoder", "mean", 32,
                                                                 max_tokens=40))
MRL = ModelFacts("mlx", "embedding", embedding=EmbeddingFacts("decoder", "last", 32,
                                                               matryoshka=True))
MODELS = {"fake/chat": None, "fake/embed": EMBED, "fake/mrl": MRL}
BACKENDS = {"fake/embed": FakeEmbeddingBackend, "fake/mrl": FakeEmbeddingBackend}
TEXTS = ["the cat sat on the mat", "a cat is sitting on a mat", "stock prices fell"]


@pytest.fixture
def url(serve_fake):
    with serve_fake(backend=FakeBackend, backend_for=BACKENDS, models=MODELS) as base:
        yield base


def _near(a: object, b: list[list[float]], tol: float = 1e-6) -> bool:
    rows = [list(r) for r in a]  # type: ignore[attr-defined]
    return len(rows) == len(b) and all(
        len(r) == len(s) and all(abs(x - y) <= tol for x, y in zip(r, s, strict=True))
        for r, s in zip(rows, b, strict=True)
    )


def _reference(texts: list[str], dims: int = 32) -> list[list[float]]:
    """What the fake backend makes, computed here without the server."""
    backend = FakeEmbeddingBackend(dimension=dims)
    backend._loaded = True
    return backend.embed(backend.tokenize(texts))


def test_openai_client_gets_float_and_base64_vectors_in_input_order(url: str) -> None:
    client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
    floats = client.embeddings.create(model="fake/embed", input=TEXTS, encoding_format="float")
    assert [d.index for d in floats.data] == [0, 1, 2]
    assert _near([d.embedding for d in floats.data], _reference(TEXTS), 1e-12)
    assert floats.model == "fake/embed"
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == sum(map(len, TEXTS))
    # the client asks for base64 by default and decodes it itself
    default = client.embeddings.create(model="fake/embed", input=TEXTS)
    assert _near([d.embedding for d in default.data], _reference(TEXTS))
    one = client.embeddings.create(model="fake/embed", input=TEXTS[0], encoding_format="float")
    assert one.data[0].embedding == floats.data[0].embedding


def test_base64_is_little_endian_float32_and_token_arrays_are_inputs(url: str) -> None:
    ids = [ord(c) for c in TEXTS[0]]
    body = {"model": "fake/embed", "input": [ids, ids[:3]], "encoding_format": "base64"}
    doc = httpx.post(url + "/v1/embeddings", json=body).json()
    raw = base64.b64decode(doc["data"][0]["embedding"])
    assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == pytest.approx(
        _reference(TEXTS[:1])[0], abs=1e-6)
    assert doc["usage"]["prompt_tokens"] == len(ids) + 3
    single = httpx.post(url + "/v1/embeddings", json={"model": "fake/embed", "input": ids,
                                                        "encoding_format": "float"}).json()
    assert len(single["data"]) == 1 and single["usage"]["prompt_tokens"] == len(ids)
    mixed = httpx.post(url + "/v1/embeddings", json={**body, "input": [ids, TEXTS[1]]})
    assert mixed.status_code == 400 and mixed.json()["error"]["param"].startswith("input")


def test_dimensions_shorten_a_matryoshka_model_and_are_refused_elsewhere(url: str) -> None:
    client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
    short = client.embeddings.create(model="fake/mrl", input=TEXTS[:1], dimensions=8,
                                      encoding_format="float").data[0].embedding
    full = _reference(TEXTS[:1])[0][:8]
    scale = sum(v * v for v in full) ** 0.5
    assert short == pytest.approx([v / scale for v in full])
    with pytest.raises(openai.BadRequestError) as refused:
        client.embeddings.create(model="fake/embed", input=TEXTS[:1], dimensions=8)
    assert "not trained to be shortened" in refused.value.message


def _openai_error(r: httpx.Response) -> dict[str, object]:
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    return err


def test_bad_input_is_a_clear_400_in_openai_shape(url: str) -> None:
    post = lambda body: httpx.post(url + "/v1/embeddings", json=body)  # noqa: E731
    assert "no input" in str(_openai_error(post({"model": "fake/embed", "input": []}))["message"])
    long = {"model": "fake/embed", "input": ["x" * 41]}
    err = _openai_error(post(long))
    assert err["param"] == "input" and "41 tokens" in str(err["message"])
    cut = post({**long, "truncate": True}).json()["data"][0]
    assert cut["truncated"] is True
    chat = _openai_error(post({"model": "fake/chat", "input": ["hi"]}))
    assert "is a chat model, not an embedding model" in str(chat["message"])
    assert chat["param"] == "model"
    assert _openai_error(post({"model": "fake/embed", "input": [""]}))["param"] == "input"
    assert _openai_error(post({"model": "fake/embed", "input": "a",
                               "encoding_format": "int8"}))["param"] == "encoding_format"
    assert httpx.post(url + "/v1/embeddings", json={"model": "nope/x", "input": "a"}
                      ).status_code == 404


def test_chat_completions_on_an_embedding_model_is_a_400(url: str) -> None:
    client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="fake/embed",
                                       messages=[{"role": "user", "content": "hi"}])
    assert "is an embedding model" in refused.value.message
    assert client.chat.completions.create(  # the server serves on
        model="fake/chat", messages=[{"role": "user", "content": "hi"}]
    ).choices[0].message.content == "Hello, world!"


def test_ollama_client_embeds_and_sees_errors(url: str) -> None:
    client = ollama.Client(host=url)
    result = client.embed(model="fake/embed", input=TEXTS)
    assert _near(result.embeddings, _reference(TEXTS), 1e-12)
    assert result.prompt_eval_count == sum(map(len, TEXTS))
    assert result.total_duration is not None and result.total_duration > 0
    assert client.embed(model="fake/embed", input=TEXTS[0]).embeddings[0] == (
        result.embeddings[0])
    tagged = client.embed(model="fake/embed:latest", input=TEXTS)  # as /api/tags names it
    assert tagged.embeddings == result.embeddings
    cut = client.embed(model="fake/embed", input="y" * 60)  # Ollama cuts by default
    assert len(cut.embeddings) == 1
    with pytest.raises(ollama.ResponseError) as refused:
        client.embed(model="fake/embed", input="y" * 60, truncate=False)
    assert refused.value.status_code == 400 and "60 tokens" in refused.value.error
    with pytest.raises(ollama.ResponseError) as chat:
        client.embed(model="fake/chat", input="hi")
    assert chat.value.status_code == 400
    old = client.embeddings(model="fake/embed", prompt=TEXTS[0])
    assert list(old.embedding) == pytest.approx(_reference(TEXTS[:1])[0], abs=1e-12)


def test_ollama_paths_answer_errors_in_ollama_shape(url: str) -> None:
    for path, body in [("/api/embed", {"model": "fake/embed", "input": []}),
                       ("/api/embeddings", {"model": "fake/chat", "prompt": "hi"}),
                       ("/api/embed", {"model": "fake/embed"})]:
        r = httpx.post(url + path, json=body)
        assert r.status_code == 400 and set(r.json()) == {"error"}, (path, r.text)
    missing = httpx.post(url + "/api/embed", json={"model": "nope/x", "input": "a"})
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    wrong_method = httpx.get(url + "/api/embed")
    assert wrong_method.status_code == 405 and set(wrong_method.json()) == {"error"}
