"""Untrained llama models of a chosen shape in a plain folder: they babble and rarely stop.

For tests that need a long generation (Ctrl-C) and for benchmarks that need a realistic shape
(``SMOLLM2_135M``) without downloading anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.factory.tokenizer import train_bpe, write_tokenizer
from tests.factory.training import llama_config, save_weights

__all__ = ["SMOLLM2_135M", "TINY", "build_random_llama"]

TINY: dict[str, Any] = {}
SMOLLM2_135M: dict[str, Any] = {
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "head_dim": 64,
    "vocab_size": 49152,
}


def build_random_llama(
    out_dir: Path, shape: dict[str, Any] | None = None, *, max_positions: int = 8192, seed: int = 0
) -> Path:
    """Write config, chat tokenizer and random float32 weights of ``shape`` into ``out_dir``."""
    import mlx.core as mx
    from mlx_lm.models.llama import Model, ModelArgs

    ids = write_tokenizer(train_bpe(), "chat", out_dir, max_positions)
    config = llama_config(432, ids["bos_token"], [ids["eos_token"]], max_positions)
    config.update(shape or TINY)
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    mx.random.seed(seed)
    model = Model(ModelArgs.from_dict(config))
    mx.eval(model.parameters())
    save_weights(model, out_dir / "model.safetensors")
    return out_dir
