"""Test helper: write small GGUF v3 files (F32, F16, Q8_0 tensors) and tiny llama checkpoints."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

F32, F16, Q8_0, Q4_K = 0, 1, 8, 12
_ALIGN = 32


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def _scalar(value: Any) -> tuple[int, bytes]:
    if isinstance(value, bool):
        return 7, struct.pack("<?", value)
    if isinstance(value, int):
        return 4, struct.pack("<I", value)
    if isinstance(value, float):
        return 6, struct.pack("<f", value)
    if isinstance(value, str):
        return 8, _string(value)
    raise TypeError(value)


def _value(value: Any) -> tuple[int, bytes]:
    if isinstance(value, (list, tuple)):
        kinds = {_scalar(v)[0] for v in value} or {8}
        (kind,) = kinds if len(kinds) == 1 else ({5},)
        if kind == 4 and any(v < 0 for v in value):
            kind = 5
        packed = b"".join(
            struct.pack("<i", v) if kind == 5 else _scalar(v)[1] for v in value
        )
        return 9, struct.pack("<IQ", kind, len(value)) + packed
    return _scalar(value)


def q8_0_blocks(w: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Quantize rows of ``w`` to Q8_0 blocks; return the bytes and the dequantized array."""
    blocks = w.astype(np.float32).reshape(-1, 32)
    d = (np.abs(blocks).max(axis=1) / 127.0).astype(np.float16)
    safe = np.where(d == 0, 1, d.astype(np.float32))
    q = np.clip(np.round(blocks / safe[:, None]), -128, 127).astype(np.int8)
    raw = b"".join(d[i].tobytes() + q[i].tobytes() for i in range(len(q)))
    deq = (q.astype(np.float32) * d.astype(np.float32)[:, None]).reshape(w.shape)
    return raw, deq


def write_gguf(
    path: Path,
    metadata: Mapping[str, Any],
    tensors: Mapping[str, tuple[int, np.ndarray | bytes, Sequence[int]]],
) -> Path:
    """Write a GGUF v3 file; ``tensors`` maps name -> (ggml type, data, numpy-order shape)."""
    header = struct.pack("<4sIQQ", b"GGUF", 3, len(tensors), len(metadata))
    kv = b"".join(
        _string(k) + struct.pack("<I", t) + raw
        for k, (t, raw) in ((k, _value(v)) for k, v in metadata.items())
    )
    infos, blobs, offset = b"", [], 0
    for name, (kind, data, shape) in tensors.items():
        raw = data if isinstance(data, bytes) else np.ascontiguousarray(data).tobytes()
        dims = list(reversed(shape))
        infos += _string(name) + struct.pack("<I", len(dims))
        infos += b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", kind, offset)
        pad = (-len(raw)) % _ALIGN
        blobs.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    head = header + kv + infos
    head += b"\0" * ((-len(head)) % _ALIGN)
    path.write_bytes(head + b"".join(blobs))
    return path


def byte_chars() -> list[str]:
    """GPT-2's printable stand-in for each byte 0..255 (byte-level BPE's base alphabet)."""
    keep = [*range(33, 127), *range(161, 173), *range(174, 256)]
    extra = iter(range(256, 512))
    return [chr(b) if b in keep else chr(next(extra)) for b in range(256)]


SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = ["h e", "l l", "he ll", "Ġ w", "o r"]
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TOKENS = SPECIALS + byte_chars() + [m.replace(" ", "") for m in MERGES]
SHAPE = {"hidden": 64, "layers": 2, "heads": 4, "kv_heads": 2, "ffn": 128}


def tiny_metadata(arch: str = "llama") -> dict[str, Any]:
    """Metadata of a tiny llama with a byte-level BPE tokenizer and a chat template."""
    return {
        "general.architecture": arch,
        "general.name": "tiny",
        f"{arch}.block_count": SHAPE["layers"],
        f"{arch}.context_length": 512,
        f"{arch}.embedding_length": SHAPE["hidden"],
        f"{arch}.feed_forward_length": SHAPE["ffn"],
        f"{arch}.attention.head_count": SHAPE["heads"],
        f"{arch}.attention.head_count_kv": SHAPE["kv_heads"],
        f"{arch}.rope.freq_base": 10000.0,
        f"{arch}.attention.layer_norm_rms_epsilon": 1e-5,
        f"{arch}.vocab_size": len(TOKENS),
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "gpt2",
        "tokenizer.ggml.tokens": TOKENS,
        "tokenizer.ggml.token_type": [3] * len(SPECIALS) + [1] * (len(TOKENS) - len(SPECIALS)),
        "tokenizer.ggml.merges": MERGES,
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.add_bos_token": False,
        "tokenizer.chat_template": TEMPLATE,
    }


def llama_cpp_permute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """The row order llama.cpp's converter gives Q and K (as convert_hf_to_gguf.py does)."""
    return (
        w.reshape(n_heads, 2, w.shape[0] // n_heads // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


_GGUF_NAMES = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm",
}


def gguf_name(hf_name: str) -> str:
    """The GGUF tensor name of an HF/mlx-lm llama weight."""
    top = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight":
           "output_norm.weight", "lm_head.weight": "output.weight"}
    if hf_name in top:
        return top[hf_name]
    _, _, layer, rest = hf_name.split(".", 3)
    module = rest.rsplit(".", 1)[0]
    return f"blk.{layer}.{_GGUF_NAMES[module]}.weight"


def tiny_llama(
    path: Path, *, quant: bool = False, tied: bool = True, seed: int = 0
) -> tuple[Path, dict[str, np.ndarray]]:
    """Write a tiny llama GGUF; return it and the reference weights (HF names and row order).

    With ``quant`` the 2-D weights are stored as Q8_0 (the reference holds their dequantized
    values) and the untied output head as F16; norms stay F32 either way.
    """
    rng = np.random.default_rng(seed)
    h, f, v = SHAPE["hidden"], SHAPE["ffn"], len(TOKENS)
    kv = SHAPE["kv_heads"] * h // SHAPE["heads"]
    shapes = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,)}
    if not tied:
        shapes["lm_head.weight"] = (v, h)
    for i in range(SHAPE["layers"]):
        p = f"model.layers.{i}."
        shapes |= {
            p + "self_attn.q_proj.weight": (h, h), p + "self_attn.k_proj.weight": (kv, h),
            p + "self_attn.v_proj.weight": (kv, h), p + "self_attn.o_proj.weight": (h, h),
            p + "mlp.gate_proj.weight": (f, h), p + "mlp.up_proj.weight": (f, h),
            p + "mlp.down_proj.weight": (h, f), p + "input_layernorm.weight": (h,),
            p + "post_attention_layernorm.weight": (h,),
        }
    reference, tensors = {}, {}
    for name, shape in shapes.items():
        w = (1 + 0.1 * rng.standard_normal(shape) if len(shape) == 1
             else 0.2 * rng.standard_normal(shape)).astype(np.float32)
        kind, data = F32, w
        if quant and name == "lm_head.weight":
            w = w.astype(np.float16).astype(np.float32)
            kind, data = F16, w.astype(np.float16)
        elif quant and len(shape) == 2:
            data, w = q8_0_blocks(w)
            kind = Q8_0
        reference[name] = w
        if ".q_proj." in name or ".k_proj." in name:
            heads = SHAPE["heads"] if ".q_proj." in name else SHAPE["kv_heads"]
            if kind == Q8_0:  # rows are quantized independently: permute whole rows of blocks
                rows = np.frombuffer(data, np.uint8).reshape(shape[0], -1)
                data = llama_cpp_permute(rows, heads).tobytes()
            else:
                data = llama_cpp_permute(w, heads)
        tensors[gguf_name(name)] = (kind, data, shape)
    return write_gguf(path, tiny_metadata(), tensors), reference

