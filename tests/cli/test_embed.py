"""`mlxk embed`, and the embedding facts of `list` / `show`, as a user runs them: the installed
console script in a subprocess, on the factory's trained tiny embedding models."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.cli.programs import mlxk

Install = Callable[[str], str]
CAT, PARAPHRASE, STOCKS = "the cat sat on the mat", "a cat is sitting on a mat", "stock prices fell"


def _cos(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_texts_become_json_lines_and_the_dimension_is_said(
    hf_cache: Path, install_model: Install
) -> None:
    repo = install_model("embed")
    done = mlxk(hf_cache, "embed", repo, CAT, PARAPHRASE, STOCKS)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["index"], r["text"], r["truncated"]) for r in rows] == [
        (0, CAT, False), (1, PARAPHRASE, False), (2, STOCKS, False)]
    cat, paraphrase, stocks = (r["embedding"] for r in rows)
    assert len(cat) == 64 and _cos(cat, paraphrase) > _cos(cat, stocks)
    assert "3 vector(s) of dimension 64 from test-org/tiny-embed-qwen3" in done.stderr
    assert "last-token pooling" in done.stderr


def test_stdin_lines_and_the_json_envelope(hf_cache: Path, install_model: Install) -> None:
    repo = install_model("embed-bert")
    long = " ".join([CAT] * 40)
    done = mlxk(hf_cache, "embed", repo, "--json", input=f"{CAT}\n\n{long}\n")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) == {"schema_version", "command", "data", "error"}
    assert doc["command"] == "embed" and doc["error"] is None
    data = doc["data"]
    assert (data["model"], data["dimension"], data["pooling"]) == (repo, 64, "cls")
    first, cut = data["embeddings"]
    assert (first["text"], first["truncated"], cut["text"], cut["tokens"], cut["truncated"]) == (
        CAT, False, long, 64, True)
    assert 2 < first["tokens"] < 64 and data["prompt_tokens"] == first["tokens"] + 64
    refused = mlxk(hf_cache, "embed", repo, "--no-truncate", long, "--json")
    assert refused.returncode == 1
    error = json.loads(refused.stdout)["error"]
    assert "the model reads at most 64" in error["message"] and error["hint"]


def test_dimensions_and_the_wrong_kind_of_model(hf_cache: Path, install_model: Install) -> None:
    repo, chat = install_model("embed"), install_model("chat")
    short = mlxk(hf_cache, "embed", repo, "--dimensions", "16", CAT)
    assert short.returncode == 0 and len(json.loads(short.stdout)["embedding"]) == 16
    not_embedder = mlxk(hf_cache, "embed", chat, CAT)
    assert not_embedder.returncode == 1
    assert "is a chat model, not an embedding model" in not_embedder.stderr
    run = mlxk(hf_cache, "run", repo, "hello")
    assert run.returncode == 1
    assert "is an embedding model" in run.stderr and f"mlxk embed {repo}" in run.stderr
    nothing = mlxk(hf_cache, "embed", repo, input="\n\n")
    assert nothing.returncode == 2 and "no text" in nothing.stderr


def test_list_and_show_know_embedding_models(hf_cache: Path, install_model: Install) -> None:
    decoder, encoder = install_model("embed"), install_model("embed-bert")
    listed = json.loads(mlxk(hf_cache, "list", "--json").stdout)["data"]["models"]
    assert {m["name"]: m["type"] for m in listed} == {decoder: "embedding", encoder: "embedding"}
    shown = json.loads(mlxk(hf_cache, "show", decoder, "--json").stdout)["data"]
    assert shown["type"] == "embedding"
    assert shown["embedding"] == {"family": "decoder", "pooling": "last", "dimension": 64,
                                  "max_tokens": 64, "matryoshka": True, "unsupported": None}
    text = mlxk(hf_cache, "show", encoder).stdout
    assert "64 dimensions, CLS pooling (encoder), at most 64 tokens" in text
