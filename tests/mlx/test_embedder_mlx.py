"""The Embedder on the factory's trained tiny embedding models, through the real MLX backend:
a Qwen3 decoder (mlx-lm, last-token pooling) and a BERT encoder (mlx-embeddings, CLS)."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from mlxk_core import BackendUnavailable, Embedder, InvalidRequest, ModelLoadError
from tests.factory import PARAPHRASES, snapshot_dir

Install = Callable[[str], str]
FAMILIES = ["embed", "embed-bert"]
CAT, CAT_PARAPHRASE, STOCKS = "the cat sat on the mat", "a cat is sitting on a mat", (
    "stock prices fell")


def _cos(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _close(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], tol: float = 1e-5) -> bool:
    return all(abs(x - y) < tol for u, v in zip(a, b, strict=True) for x, y in zip(u, v,
                                                                                     strict=True))


@pytest.mark.parametrize("variant", FAMILIES)
def test_paraphrases_are_nearer_than_unrelated_texts(variant: str, install_model: Install) -> None:
    with Embedder(install_model(variant)) as embedder:
        cat, paraphrase, stocks = embedder.embed([CAT, CAT_PARAPHRASE, STOCKS]).vectors
        assert _cos(cat, paraphrase) > _cos(cat, stocks) + 0.2
        every = [t for group in PARAPHRASES for t in group]
        vectors = embedder.embed(every).vectors
    for i, group in enumerate(PARAPHRASES):  # each text is nearest to its own paraphrases
        own = range(3 * i, 3 * i + 3)
        for a in own:
            best = max((j for j in range(len(every)) if j != a),
                       key=lambda j, a=a: _cos(vectors[a], vectors[j]))
            assert best in own, (every[a], every[best], group)


@pytest.mark.parametrize("variant", FAMILIES)
def test_a_batch_equals_single_calls_and_repeats_exactly(
    variant: str, install_model: Install
) -> None:
    texts = [CAT, "hi", STOCKS + " and " + CAT_PARAPHRASE * 2, "rain"]
    with Embedder(install_model(variant), max_batch=3) as embedder:
        batch = embedder.embed(texts)
        singles = [embedder.embed(t).vectors[0] for t in texts]
        again = embedder.embed(texts)
        facts = embedder.facts
    assert _close(batch.vectors, singles)
    assert again.vectors == batch.vectors
    assert all(abs(_cos(v, v) - 1) < 1e-5 for v in batch.vectors)
    assert batch.dimension == len(batch.vectors[0]) == 64
    assert facts is not None and batch.pooling == facts.pooling == (
        "last" if variant == "embed" else "cls")


@pytest.mark.parametrize("variant", FAMILIES)
def test_long_texts_are_cut_to_the_context_or_refused(
    variant: str, install_model: Install
) -> None:
    long = " ".join([CAT] * 40)
    with Embedder(install_model(variant)) as embedder:
        assert embedder.context_length == 64
        result = embedder.embed([long, CAT])
        with pytest.raises(InvalidRequest, match=r"Input 0 has \d+ tokens; .* at most 64"):
            embedder.embed([long], truncate=False)
    cut, whole = result.embeddings
    assert (cut.tokens, cut.truncated, whole.truncated) == (64, True, False)


def test_a_matryoshka_model_gives_shorter_vectors_that_still_work(install_model: Install) -> None:
    with Embedder(install_model("embed")) as embedder:
        assert embedder.facts is not None and embedder.facts.matryoshka
        full = embedder.embed([CAT]).vectors[0]
        cat, paraphrase, stocks = embedder.embed([CAT, CAT_PARAPHRASE, STOCKS],
                                                 dimensions=16).vectors
    scale = sum(v * v for v in full[:16]) ** 0.5
    assert cat == pytest.approx([v / scale for v in full[:16]], abs=1e-6)
    assert _cos(cat, paraphrase) > _cos(cat, stocks)
    with Embedder(install_model("embed-bert")) as bert, pytest.raises(
        InvalidRequest, match="not trained to be shortened"
    ):
        bert.embed([CAT], dimensions=16)


def _encoder_copy(hf_cache: Path, install_model: Install, kind: str, tmp_path: Path) -> Path:
    """A folder with the factory BERT's tokenizer and a random tiny ``kind`` encoder, pooled by
    mean (which, unlike CLS, reads every position: padding must be masked)."""
    import mlx.core as mx
    from mlx.utils import tree_flatten

    folder = tmp_path / kind
    shutil.copytree(snapshot_dir(hf_cache, install_model("embed-bert")), folder, symlinks=False)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type=kind, num_hidden_layers=3, max_position_embeddings=66,
                  type_vocab_size=1)
    if kind == "modernbert":  # local (sliding-window) attention on two of its three layers
        config.update(architectures=["ModernBertModel"], global_attn_every_n_layers=2,
                      local_attention=8, max_position_embeddings=64)
    for name, doc in (("config.json", config),
                      ("1_Pooling/config.json", {"pooling_mode_mean_tokens": True})):
        (folder / name).unlink()
        (folder / name).write_text(json.dumps(doc))
    module = __import__(f"mlx_embeddings.models.{kind}", fromlist=["Model"])
    mx.random.seed(1)
    model = module.Model(module.ModelArgs.from_dict(config))
    (folder / "model.safetensors").unlink()
    mx.save_safetensors(str(folder / "model.safetensors"), dict(tree_flatten(model.parameters())),
                        metadata={"format": "mlx"})
    return folder


@pytest.mark.parametrize("kind", ["bert", "xlm_roberta", "modernbert"])
def test_encoders_mask_padding_under_mean_pooling(
    kind: str, install_model: Install, hf_cache: Path, tmp_path: Path
) -> None:
    folder = _encoder_copy(hf_cache, install_model, kind, tmp_path)
    texts = [CAT, "hi", (STOCKS + " ") * 5, CAT_PARAPHRASE]
    with Embedder(folder) as embedder:
        assert embedder.info.pooling == "mean"
        batch = embedder.embed(texts).vectors
        singles = [embedder.embed(t).vectors[0] for t in texts]
    assert _close(batch, singles)


def test_without_mlx_embeddings_an_encoder_is_refused_with_the_install_command(
    install_model: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mlx_embeddings.utils", None)  # as if not installed
    with pytest.raises(BackendUnavailable) as refused, Embedder(install_model("embed-bert")):
        pass
    assert refused.value.hint == "pip install 'mlxk[embeddings]'"
    with Embedder(install_model("embed")) as decoder:  # decoders need only mlx-lm
        assert decoder.embed(CAT).dimension == 64


def test_a_dense_projection_is_refused_rather_than_ignored(
    install_model: Install, hf_cache: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "dense"
    shutil.copytree(snapshot_dir(hf_cache, install_model("embed")), folder)
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").unlink()
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelLoadError, match="Dense module"), Embedder(folder):
        pass


def test_a_chat_model_is_not_an_embedder(install_model: Install) -> None:
    with pytest.raises(InvalidRequest, match="is a chat model, not an embedding model"), Embedder(
        install_model("chat")
    ):
        pass
