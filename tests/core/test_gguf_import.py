"""GGUF import: a tiny llama GGUF becomes a healthy MLX repo that computes the same logits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlxk_core.cache.health import check_health
from mlxk_core.errors import ImportFailed
from mlxk_core.gguf import default_repo_id, import_gguf
from mlxk_core.gguf.tokenizer import tokenizer_files
from mlxk_core.settings import Settings
from tests.core.gguf_builder import SHAPE, TOKENS, tiny_llama, tiny_metadata
from tests.fakehub.fixtures import cache_picture

PROMPT_IDS = [1, 60, 75, 200, 263, 7, 2, 100]


def _reference_logits(weights: dict[str, np.ndarray], tied: bool) -> np.ndarray:
    import mlx.core as mx
    from mlx_lm.models import llama

    args = llama.ModelArgs(
        model_type="llama", hidden_size=SHAPE["hidden"], num_hidden_layers=SHAPE["layers"],
        intermediate_size=SHAPE["ffn"], num_attention_heads=SHAPE["heads"],
        num_key_value_heads=SHAPE["kv_heads"], rms_norm_eps=1e-5, vocab_size=len(TOKENS),
        rope_theta=10000.0, tie_word_embeddings=tied,
    )
    model = llama.Model(args)
    model.load_weights([(k, mx.array(v)) for k, v in weights.items()], strict=True)
    return np.array(model(mx.array([PROMPT_IDS]))[0].astype(mx.float32))


def _imported_logits(snapshot: Path) -> np.ndarray:
    import mlx.core as mx
    from mlx_lm import load

    model, _ = load(str(snapshot))
    return np.array(model(mx.array([PROMPT_IDS]))[0].astype(mx.float32))


@pytest.fixture
def settings(hf_cache: Path) -> Settings:
    return Settings(cache_dir=hf_cache)


def test_f32_import_matches_the_original_model(tmp_path: Path, settings: Settings):
    gguf, weights = tiny_llama(tmp_path / "Tiny-F32.gguf")
    result = import_gguf(gguf, settings=settings)
    assert result.repo_id == "local/Tiny-F32" and not result.reused
    assert result.quantization is None
    got = _imported_logits(result.snapshot_path)
    np.testing.assert_allclose(got, _reference_logits(weights, tied=True), atol=2e-4, rtol=1e-4)


def test_q8_import_keeps_weights_quantized_and_matches(tmp_path: Path, settings: Settings):
    gguf, weights = tiny_llama(tmp_path / "tiny.Q8_0.gguf", quant=True, tied=False)
    result = import_gguf(gguf, settings=settings, repo_id="me/tiny-q8")
    config = json.loads((result.snapshot_path / "config.json").read_text())
    assert config["quantization"] == {"group_size": 32, "bits": 8}
    assert config["tie_word_embeddings"] is False
    assert (result.quantization.bits, result.quantization.group_size) == (8, 32)
    assert result.tensor_types == ("F16", "F32", "Q8_0")
    got = _imported_logits(result.snapshot_path)
    want = _reference_logits(weights, tied=False)
    # Q8_0 scales are float16, so values pass through half precision on the way.
    np.testing.assert_allclose(got, want, atol=0.05 * np.abs(want).max())
    assert (got.argmax(-1) == want.argmax(-1)).mean() >= 0.75


def test_config_holds_the_gguf_hyperparameters(tmp_path: Path, settings: Settings):
    gguf, _ = tiny_llama(tmp_path / "tiny.gguf")
    snapshot = import_gguf(gguf, settings=settings).snapshot_path
    config = json.loads((snapshot / "config.json").read_text())
    assert config["model_type"] == "llama"
    assert {k: config[k] for k in (
        "hidden_size", "num_hidden_layers", "intermediate_size", "num_attention_heads",
        "num_key_value_heads", "head_dim", "rms_norm_eps", "rope_theta",
        "max_position_embeddings", "vocab_size", "tie_word_embeddings", "eos_token_id",
    )} == {
        "hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "max_position_embeddings": 512, "vocab_size": len(TOKENS),
        "tie_word_embeddings": True, "eos_token_id": 2,
    }
    assert "quantization" not in config


def test_import_is_a_healthy_hub_layout_repo(tmp_path: Path, settings: Settings):
    gguf, _ = tiny_llama(tmp_path / "tiny.gguf")
    result = import_gguf(gguf, settings=settings, repo_id="acme/tiny")
    repo = settings.cache_dir / "models--acme--tiny"
    assert (repo / "refs" / "main").read_text() == result.snapshot_path.name
    assert result.snapshot_path.parent == repo / "snapshots"
    names = sorted(p.name for p in result.snapshot_path.iterdir())
    assert names == ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    for p in result.snapshot_path.iterdir():
        assert p.is_symlink() and p.resolve().parent == (repo / "blobs").resolve()
    assert check_health(result.snapshot_path).healthy
    assert not [p for p in settings.cache_dir.iterdir() if p.name.startswith(".")]


def test_tokenizer_round_trips_and_knows_its_special_tokens(tmp_path: Path, settings: Settings):
    from mlx_lm import load

    gguf, _ = tiny_llama(tmp_path / "tiny.gguf")
    _, tok = load(str(import_gguf(gguf, settings=settings).snapshot_path))
    text = "hello world, naïve café 42!\n\ttabs  and  spaces"
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text
    assert tok.encode("hello world", add_special_tokens=False) == [
        TOKENS.index(t) for t in ("hell", "o", "Ġw", "or", "l", "d")
    ]
    assert tok.encode("<|im_start|>", add_special_tokens=False) == [1]
    assert tok.eos_token == "<|im_end|>" and tok.eos_token_ids == {2}
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False
    )
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_reimport_reuses_the_snapshot_unless_forced(tmp_path: Path, settings: Settings):
    gguf, _ = tiny_llama(tmp_path / "tiny.gguf")
    first = import_gguf(gguf, settings=settings)
    before = cache_picture(settings.cache_dir)
    again = import_gguf(gguf, settings=settings)
    assert again.reused and again.snapshot_path == first.snapshot_path
    assert cache_picture(settings.cache_dir) == before
    forced = import_gguf(gguf, settings=settings, force=True)
    assert not forced.reused and forced.snapshot_path == first.snapshot_path


def test_default_repo_id_is_local_and_the_file_stem():
    assert default_repo_id(Path("/x/SmolLM2-135M-Instruct.Q4_1.gguf")) == (
        "local/SmolLM2-135M-Instruct.Q4_1"
    )
    assert default_repo_id(Path("my model (v2).gguf")) == "local/my-model-v2"


@pytest.mark.parametrize("pre", ["gpt2", "smollm", "llama-bpe"])
def test_bos_is_added_when_the_gguf_asks_for_it(pre: str):
    from tokenizers import Tokenizer

    meta = {**tiny_metadata(), "tokenizer.ggml.add_bos_token": True, "tokenizer.ggml.pre": pre}
    files = tokenizer_files(meta, "tiny.gguf", 512)
    tok = Tokenizer.from_str(files["tokenizer.json"].decode())
    ids = tok.encode("hello world 123").ids
    assert ids[0] == 1 and tok.decode(ids[1:]) == "hello world 123"
    assert json.loads(files["tokenizer_config.json"])["add_bos_token"] is True


def test_unknown_pre_tokenizer_is_refused():
    with pytest.raises(ImportFailed, match="pre-tokenizer 'exotic'"):
        tokenizer_files({**tiny_metadata(), "tokenizer.ggml.pre": "exotic"}, "x.gguf", 512)
