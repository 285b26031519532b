"""GGUF import refuses what it cannot convert, says why, and leaves the cache as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlxk_core.errors import ImportFailed
from mlxk_core.gguf import import_gguf
from mlxk_core.settings import Settings
from tests.core.gguf_builder import F32, Q4_K, tiny_llama, tiny_metadata, write_gguf
from tests.fakehub.fixtures import cache_picture


@pytest.fixture
def settings(hf_cache: Path, tmp_path: Path) -> Settings:
    """A cache that already holds one imported model, so 'unchanged' means something."""
    s = Settings(cache_dir=hf_cache)
    import_gguf(tiny_llama(tmp_path / "existing.gguf")[0], settings=s, repo_id="local/bad")
    return s


def _norm_only(path: Path, metadata: dict, kind: int = F32, data: object = None) -> Path:
    data = np.ones(64, np.float32) if data is None else data
    shape = (64,) if kind == F32 else (2, 256)
    return write_gguf(path, metadata, {"output_norm.weight": (kind, data, shape)})


def _refused(settings: Settings, path: Path, match: str) -> ImportFailed:
    before = cache_picture(settings.cache_dir)
    with pytest.raises(ImportFailed, match=match) as info:
        import_gguf(path, settings=settings, repo_id="local/bad", force=True)
    assert cache_picture(settings.cache_dir) == before
    assert info.value.hint
    return info.value


def test_unsupported_architecture(tmp_path: Path, settings: Settings):
    path = _norm_only(tmp_path / "bad.gguf", tiny_metadata("gemma"))
    _refused(settings, path, "architecture 'gemma' is not supported")


def test_unsupported_tensor_type_names_it(tmp_path: Path, settings: Settings):
    path = _norm_only(tmp_path / "bad.gguf", tiny_metadata(), Q4_K, b"\1" * 288)
    error = _refused(settings, path, "Q4_K")
    assert "Q4_0, Q4_1, Q8_0" in error.hint


def test_unsupported_tokenizer(tmp_path: Path, settings: Settings):
    path = _norm_only(tmp_path / "bad.gguf", {**tiny_metadata(), "tokenizer.ggml.model": "llama"})
    _refused(settings, path, "tokenizer type 'llama'")


def test_incomplete_model(tmp_path: Path, settings: Settings):
    path = _norm_only(tmp_path / "bad.gguf", tiny_metadata())
    _refused(settings, path, "missing")


def test_foreign_tensor_names(tmp_path: Path, settings: Settings):
    path = write_gguf(tmp_path / "bad.gguf", tiny_metadata(), {
        "rope_freqs.weight": (F32, np.ones(8, np.float32), (8,)),
    })
    _refused(settings, path, "rope_freqs.weight")


def test_not_a_gguf_file(tmp_path: Path, settings: Settings):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"<html>404</html>")
    _refused(settings, path, "not a readable GGUF")
    _refused(settings, tmp_path / "nope.gguf", "No such file")


def test_truncated_file(tmp_path: Path, settings: Settings):
    good, _ = tiny_llama(tmp_path / "tiny.gguf")
    path = tmp_path / "cut.gguf"
    path.write_bytes(good.read_bytes()[:3000])
    _refused(settings, path, "not a readable GGUF")
    path.write_bytes(good.read_bytes()[:-5000])  # header whole, tensor data cut
    _refused(settings, path, "incomplete download")


def test_invalid_name_is_refused(tmp_path: Path, settings: Settings):
    good, _ = tiny_llama(tmp_path / "tiny.gguf")
    before = cache_picture(settings.cache_dir)
    for name in ("no-slash", "../escape", "a/b/c", "/abs/x"):
        with pytest.raises(ImportFailed, match="Invalid model name"):
            import_gguf(good, settings=settings, repo_id=name)
    assert cache_picture(settings.cache_dir) == before
