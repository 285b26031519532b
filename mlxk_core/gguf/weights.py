"""Rename GGUF tensors to mlx-lm's llama names and undo llama.cpp's Q/K rope permutation."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from mlxk_core.errors import ImportFailed

__all__ = [
    "GGUF_BLOCK",
    "check_complete",
    "convert_weights",
    "mlx_name",
    "permute_rows",
    "quantization_config",
    "unpermute_rows",
]

# Q4_0, Q4_1 and Q8_0 quantize blocks of 32 values; mlx loads them with this group size.
GGUF_BLOCK = 32

_TOP = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
_BLOCK = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}
_NAME = re.compile(r"^(?:blk\.(\d+)\.)?(\w+)\.(weight|scales|biases)$")


def mlx_name(gguf_name: str) -> str | None:
    """mlx-lm's name for a GGUF tensor (``blk.3.attn_q.weight`` -> ``model.layers.3...``)."""
    match = _NAME.match(gguf_name)
    if not match:
        return None
    layer, base, suffix = match.groups()
    if layer is None:
        return f"{_TOP[base]}.{suffix}" if base in _TOP else None
    return f"model.layers.{layer}.{_BLOCK[base]}.{suffix}" if base in _BLOCK else None


def permute_rows(rows: Any, n_heads: int) -> Any:
    """llama.cpp's rope permutation of a Q/K matrix's rows (halves -> interleaved pairs)."""
    r = rows.shape[0]
    return rows.reshape(n_heads, 2, r // n_heads // 2, -1).swapaxes(1, 2).reshape(rows.shape)


def unpermute_rows(rows: Any, n_heads: int) -> Any:
    """Undo :func:`permute_rows`; rows of weights and of their scales/biases alike."""
    r = rows.shape[0]
    return rows.reshape(n_heads, r // n_heads // 2, 2, -1).swapaxes(1, 2).reshape(rows.shape)


def convert_weights(
    tensors: dict[str, Any], n_heads: int, n_kv_heads: int, source: str
) -> dict[str, Any]:
    """Tensors from ``mlx.core.load(gguf)`` under mlx-lm llama names, with Q/K rows restored."""
    targets = {name: mlx_name(name) for name in tensors}
    unknown = sorted(name for name, target in targets.items() if target is None)
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise ImportFailed(
            f"{source}: tensors not part of a llama model: {shown}",
            hint="this GGUF's architecture variant is not supported by the import",
        )
    out: dict[str, Any] = {}
    for name, array in tensors.items():
        if ".attn_q." in name:
            array = unpermute_rows(array, n_heads)
        elif ".attn_k." in name:
            array = unpermute_rows(array, n_kv_heads)
        out[str(targets[name])] = array
    return out


def check_complete(weights: dict[str, Any], n_layers: int, source: str) -> None:
    """Raise ImportFailed when a tensor every llama model needs is missing."""
    needed = ["model.embed_tokens.weight", "model.norm.weight"] + [
        f"model.layers.{i}.{module}.weight" for i in range(n_layers) for module in _BLOCK.values()
    ]
    missing = [name for name in needed if name not in weights]
    if missing:
        raise ImportFailed(
            f"{source}: {len(missing)} llama tensor(s) missing, e.g. {missing[0]}",
            hint="the GGUF is incomplete or not a plain llama model",
        )


def quantization_config(weights: dict[str, Any]) -> dict[str, Any] | None:
    """mlx-lm's ``quantization`` entry: the commonest bits, plus per-module exceptions."""
    bits: dict[str, int] = {}
    for name, scales in weights.items():
        if name.endswith(".scales"):
            module = name[: -len(".scales")]
            bits[module] = weights[f"{module}.weight"].shape[-1] // scales.shape[-1]
    if not bits:
        return None
    common = Counter(bits.values()).most_common(1)[0][0]
    config: dict[str, Any] = {"group_size": GGUF_BLOCK, "bits": common}
    for module, b in sorted(bits.items()):
        if b != common:
            config[module] = {"group_size": GGUF_BLOCK, "bits": b}
    return config
