"""Import a llama-family GGUF file into the cache as an MLX model repo."""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlxk_core.cache.records import Quantization
from mlxk_core.cache.store import file_sha256, repo_folder_name, store_snapshot
from mlxk_core.errors import ImportFailed
from mlxk_core.gguf.config import check_supported, llama_config
from mlxk_core.gguf.reader import read_header
from mlxk_core.gguf.tokenizer import tokenizer_files
from mlxk_core.gguf.weights import check_complete, convert_weights, quantization_config
from mlxk_core.settings import Settings

__all__ = ["DEFAULT_ORG", "ImportResult", "default_repo_id", "import_gguf"]

DEFAULT_ORG = "local"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
_CORRUPT = "the file may be incomplete or corrupt: download it again"
_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


@dataclass(frozen=True)
class ImportResult:
    """What an import produced: the cached repo, its snapshot and where it came from."""

    repo_id: str
    snapshot_path: Path
    source: Path
    sha256: str
    architecture: str
    quantization: Quantization | None
    tensor_types: tuple[str, ...]
    size: int
    reused: bool
    seconds: float


def default_repo_id(path: Path) -> str:
    """The repo id an import uses without ``--name``: ``local/<file stem>``."""
    stem = re.sub(r"[^\w.-]+", "-", Path(path).stem).strip("-.") or "model"
    return f"{DEFAULT_ORG}/{stem}"


def _existing(cache_dir: Path, repo_id: str, sha256: str) -> Path | None:
    """The current snapshot of ``repo_id`` when it is complete and came from this very file."""
    repo = cache_dir / repo_folder_name(repo_id)
    try:
        snapshot = repo / "snapshots" / (repo / "refs" / "main").read_text().strip()
        config = json.loads((snapshot / "config.json").read_text())
    except (OSError, ValueError):
        return None
    complete = all((snapshot / name).is_file() for name in _FILES)
    same = isinstance(config, dict) and config.get("mlxk_import", {}).get("sha256") == sha256
    return snapshot if complete and same else None


def _load_tensors(path: Path) -> dict[str, Any]:
    import mlx.core as mx

    try:
        tensors = mx.load(str(path))
    except (RuntimeError, ValueError, OSError) as exc:
        raise ImportFailed(f"mlx could not read {path.name}: {exc}", hint=_CORRUPT) from exc
    if not isinstance(tensors, dict):
        raise ImportFailed(f"mlx could not read {path.name} as a GGUF model", hint=_CORRUPT)
    return tensors


def _save(weights: dict[str, Any], target: Path) -> Path:
    import mlx.core as mx

    try:
        mx.save_safetensors(str(target), weights, metadata={"format": "mlx"})
    except (RuntimeError, ValueError) as exc:
        hint = "check the free space of the temporary folder (TMPDIR)"
        raise ImportFailed(f"Could not write the converted weights: {exc}", hint=hint) from exc
    return target


def _result_quantization(config: dict[str, Any] | None) -> Quantization | None:
    if not config:
        return None
    return Quantization(bits=config["bits"], group_size=config["group_size"])


def import_gguf(
    path: Path, *, settings: Settings, repo_id: str | None = None, force: bool = False
) -> ImportResult:
    """Convert the llama-family GGUF at ``path`` into an MLX repo in the cache.

    Re-importing the same file under the same repo id reuses the stored snapshot unless
    ``force``. On any failure the cache is left as it was.
    """
    started = time.monotonic()
    path = Path(path).expanduser()
    repo_id = repo_id or default_repo_id(path)
    if not _REPO_ID.match(repo_id) or ".." in repo_id:
        raise ImportFailed(f"Invalid model name '{repo_id}'", hint="use the form org/name")
    header = read_header(path)
    check_supported(header, path.name)
    sha256 = file_sha256(path)
    types = tuple(sorted({t.ggml_type for t in header.tensors}))
    existing = None if force else _existing(settings.cache_dir, repo_id, sha256)
    if existing is not None:
        config = json.loads((existing / "config.json").read_text())
        return ImportResult(
            repo_id, existing, path, sha256, "llama",
            _result_quantization(config.get("quantization")), types,
            sum((existing / name).stat().st_size for name in _FILES), True,
            time.monotonic() - started,
        )
    meta = header.metadata
    base = llama_config(header, path.name, None)
    weights = convert_weights(
        _load_tensors(path), base["num_attention_heads"], base["num_key_value_heads"], path.name
    )
    check_complete(weights, base["num_hidden_layers"], path.name)
    quant = quantization_config(weights)
    config = llama_config(header, path.name, quant)
    config["mlxk_import"] = {"source": path.name, "sha256": sha256}
    files: dict[str, Path | bytes] = dict(
        tokenizer_files(meta, path.name, config["max_position_embeddings"])
    )
    files["config.json"] = json.dumps(config, indent=2).encode()
    with tempfile.TemporaryDirectory(prefix="mlxk-import-") as tmp:
        files["model.safetensors"] = _save(weights, Path(tmp) / "model.safetensors")
        snapshot = store_snapshot(settings.cache_dir, repo_id, files)
    return ImportResult(
        repo_id, snapshot, path, sha256, "llama", _result_quantization(quant), types,
        sum((snapshot / name).stat().st_size for name in _FILES), False,
        time.monotonic() - started,
    )
