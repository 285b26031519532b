"""A real ``mlxk-serve`` process serving the factory's trained embedding models (and a chat
model) to the official ``openai`` and ``ollama`` clients."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import ollama
import openai
import pytest

from tests.factory import EMBED_REPO_IDS, REPO_IDS, build_model
from tests.server.test_lifecycle import Served, mlxk_serve

CAT, PARAPHRASE, STOCKS = "the cat sat on the mat", "a cat is sitting on a mat", "stock prices fell"
DECODER, ENCODER = EMBED_REPO_IDS["embed"], EMBED_REPO_IDS["embed-bert"]


@pytest.fixture
def served(hf_cache: Path) -> Iterator[Served]:
    for variant in ("embed", "embed-bert", "chat"):
        build_model(variant, hf_cache)
    with mlxk_serve(hf_cache, "--log-level", "warning", "--max-loaded-models", "2") as server:
        yield server


def _cos(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _same(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], tol: float) -> bool:
    return all(abs(x - y) <= tol for u, v in zip(a, b, strict=True)
               for x, y in zip(u, v, strict=True))


def test_openai_and_ollama_clients_get_vectors_that_know_paraphrases(served: Served) -> None:
    client = openai.OpenAI(base_url=served.url + "/v1", api_key="x", max_retries=0)
    listed = {m.id: m for m in client.models.list().data}
    assert listed[DECODER].model_extra == {"type": "embedding", "dimension": 64,
                                           "pooling": "last"}
    assert "type" not in (listed[REPO_IDS["chat"]].model_extra or {})
    for model in (DECODER, ENCODER):
        texts = [CAT, PARAPHRASE, STOCKS]
        floats = [d.embedding for d in client.embeddings.create(
            model=model, input=texts, encoding_format="float").data]
        cat, paraphrase, stocks = floats
        assert len(cat) == 64
        assert _cos(cat, paraphrase) > _cos(cat, stocks), model
        # left alone, the client asks for base64 and decodes it; asked for, it is the caller's
        decoded = [d.embedding for d in client.embeddings.create(model=model, input=texts).data]
        b64 = client.embeddings.create(model=model, input=texts, encoding_format="base64").data
        raw = [base64.b64decode(d.embedding) for d in b64]  # type: ignore[arg-type]
        unpacked = [struct.unpack(f"<{len(r) // 4}f", r) for r in raw]
        assert _same(decoded, floats, 1e-6) and _same(unpacked, floats, 1e-6)
        ollama_vectors = ollama.Client(host=served.url).embed(model=model, input=[CAT]).embeddings
        assert _same(ollama_vectors, [cat], 1e-6)


@pytest.mark.parametrize("model", [DECODER, ENCODER])
def test_a_batch_of_n_equals_n_single_calls_and_repeats(served: Served, model: str) -> None:
    client = openai.OpenAI(base_url=served.url + "/v1", api_key="x", max_retries=0)
    texts = [CAT, "hello there", STOCKS * 3, PARAPHRASE, "rain"]
    batch = [d.embedding for d in client.embeddings.create(
        model=model, input=texts, encoding_format="float").data]
    singles = [client.embeddings.create(model=model, input=t, encoding_format="float")
               .data[0].embedding for t in texts]
    assert _same(batch, singles, 1e-5)
    again = [d.embedding for d in client.embeddings.create(
        model=model, input=texts, encoding_format="float").data]
    assert again == batch


def test_bad_requests_get_clear_400s(served: Served) -> None:
    client = openai.OpenAI(base_url=served.url + "/v1", api_key="x", max_retries=0)
    chat = REPO_IDS["chat"]
    refusals = [
        ({"model": DECODER, "input": []}, "no input"),
        ({"model": DECODER, "input": [" ".join([CAT] * 40)]}, "the model reads at most 64"),
        ({"model": chat, "input": ["hi"]}, "is a chat model, not an embedding model"),
        ({"model": ENCODER, "input": ["hi"], "dimensions": 8}, "not trained to be shortened"),
    ]
    for body, message in refusals:
        with pytest.raises(openai.BadRequestError) as refused:
            client.embeddings.create(**body)  # type: ignore[arg-type]
        assert message in refused.value.message
    with pytest.raises(openai.BadRequestError, match="is an embedding model"):
        client.chat.completions.create(model=DECODER, messages=[{"role": "user", "content": "x"}])
    reply = httpx.post(served.url + "/api/embed", timeout=30,
                       json={"model": chat, "input": "hi"})
    assert reply.status_code == 400 and "not an embedding model" in reply.json()["error"]
    health = httpx.get(served.url + "/health").json()
    assert health["status"] == "ok" and health["problems"] == []  # a client's mistake, not ours
