"""Embedding throughput: texts per second for a batch of 64 short texts vs one text at a time.

Both through the ``Embedder`` (the engine path the server uses too), best of ``ROUNDS``, on: a
random Qwen3 decoder of a small embedder's shape (``SHAPE``, built in a temp folder with the
factory's tokenizer) and the factory's trained tiny decoder and BERT encoder. The peer is the
same Embedder called once per text: the ratio is what batching many inputs in one forward pass
gains. No target.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.context import Context
from benchmarks.report import Row
from mlxk_core.backends.blas import ensure_blas
from mlxk_core.embeddings.embedder import Embedder
from mlxk_core.settings import Settings
from tests.factory import EMBED_REPO_IDS, PARAPHRASES, prebuilt_hub, snapshot_dir

TITLE = "embed: texts/s, one batch of 64 short texts vs 64 single calls (Embedder)"
ROUNDS = 3
BATCH = 64
SHAPE: dict[str, Any] = {  # about a third of Qwen3-Embedding-0.6B's width and depth
    "hidden_size": 384, "intermediate_size": 1024, "num_hidden_layers": 8,
    "num_attention_heads": 6, "num_key_value_heads": 2, "head_dim": 64,
}


def texts(n: int = BATCH) -> list[str]:
    """``n`` short, distinct texts (4 to 8 words)."""
    every = [t for group in PARAPHRASES for t in group]
    return [f"{every[i % len(every)]} {i}" for i in range(n)]


def measure(embedder: Embedder, items: list[str], rounds: int = ROUNDS) -> dict[str, float]:
    """Best-of-``rounds`` texts per second, batched and one at a time."""
    embedder.embed(items[:2])  # warm up (first calls compile kernels on some devices)
    batched = single = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        embedder.embed(items)
        batched = max(batched, len(items) / (time.perf_counter() - start))
        start = time.perf_counter()
        for item in items:
            embedder.embed([item])
        single = max(single, len(items) / (time.perf_counter() - start))
    return {"batch_texts_per_s": batched, "single_texts_per_s": single,
            "speedup": batched / single}


def shaped_decoder(out: Path, shape: dict[str, Any] = SHAPE) -> Path:
    """A random Qwen3 embedder of ``shape`` with the factory decoder's tokenizer and files."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models.qwen3 import Model, ModelArgs

    shutil.copytree(snapshot_dir(prebuilt_hub(), EMBED_REPO_IDS["embed"]), out)
    config = {**json.loads((out / "config.json").read_text()), **shape}
    pooling = json.loads((out / "1_Pooling/config.json").read_text())
    pooling["word_embedding_dimension"] = shape["hidden_size"]
    for name, doc in (("config.json", config), ("1_Pooling/config.json", pooling)):
        (out / name).unlink()
        (out / name).write_text(json.dumps(doc))
    mx.random.seed(0)
    model = Model(ModelArgs.from_dict(config))
    (out / "model.safetensors").unlink()
    mx.save_safetensors(str(out / "model.safetensors"), dict(tree_flatten(model.parameters())),
                        metadata={"format": "mlx"})
    return out


def run(ctx: Context) -> list[Row]:
    """One row per model: texts/s in one batch against one text at a time."""
    ensure_blas(Settings.from_env().blas)  # before building the model imports mlx
    items = texts()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="mlxk-bench-embed-") as tmp:
        models = {
            f"qwen3 random (hidden {SHAPE['hidden_size']}, {SHAPE['num_hidden_layers']} layers)":
                shaped_decoder(Path(tmp) / "shaped"),
            "tiny trained qwen3 (factory)": snapshot_dir(prebuilt_hub(), EMBED_REPO_IDS["embed"]),
            "tiny trained bert (factory)": snapshot_dir(
                prebuilt_hub(), EMBED_REPO_IDS["embed-bert"]),
        }
        for label, path in models.items():
            with Embedder(path) as embedder:
                found = measure(embedder, items)
            rows.append(Row(
                f"embed.batch.{len(rows)}", f"{label}: {len(items)} texts in one batch",
                "texts/s", found["batch_texts_per_s"], f"{len(items)} calls of one text",
                found["single_texts_per_s"], "higher",
            ))
    return rows
