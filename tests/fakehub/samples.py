"""Small synthetic repos (file name -> bytes) for the fake hub: loadable-looking, not trained."""

from __future__ import annotations

import json
import random
import struct

_TOKENIZER = {
    "version": "1.0",
    "added_tokens": [
        {"id": 0, "content": "<s>", "special": True},
        {"id": 1, "content": "</s>", "special": True},
    ],
    "model": {"type": "BPE", "vocab": {"<s>": 0, "</s>": 1, "a": 2, "b": 3}, "merges": []},
}


def safetensors_bytes(tensors: dict[str, int], *, seed: int = 0, mlx: bool = True) -> bytes:
    """A valid safetensors file of float32 vectors (name -> element count), random bytes."""
    rng = random.Random(seed)
    header: dict[str, object] = {"__metadata__": {"format": "mlx" if mlx else "pt"}}
    offset = 0
    chunks = []
    for name, count in tensors.items():
        data = rng.randbytes(count * 4)  # arbitrary float32 bits: nothing computes with them
        header[name] = {
            "dtype": "F32",
            "shape": [count],
            "data_offsets": [offset, offset + len(data)],
        }
        offset += len(data)
        chunks.append(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"".join(chunks)


def _config(**extra: object) -> bytes:
    config = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "vocab_size": 4,
        "max_position_embeddings": 256,
        "torch_dtype": "float32",
    }
    config.update(extra)
    return json.dumps(config, indent=2).encode()


def _tokenizer_files() -> dict[str, bytes]:
    return {
        "tokenizer.json": json.dumps(_TOKENIZER).encode(),
        "tokenizer_config.json": json.dumps(
            {"bos_token": "<s>", "eos_token": "</s>", "chat_template": "{{ messages }}"}
        ).encode(),
    }


def mlx_model(*, seed: int = 0, weight_floats: int = 60_000) -> dict[str, bytes]:
    """An MLX-looking chat repo: config, tokenizer, one ~240 KB safetensors file, a README."""
    files = {
        "config.json": _config(),
        "model.safetensors": safetensors_bytes({"model.embed.weight": weight_floats}, seed=seed),
        "README.md": f"# tiny test model {seed}\n".encode(),
    }
    files.update(_tokenizer_files())
    return files


def sharded_mlx_model(*, seed: int = 0) -> dict[str, bytes]:
    """An MLX-looking repo with two weight shards and an index."""
    shards = {
        "model-00001-of-00002.safetensors": safetensors_bytes({"a.weight": 20_000}, seed=seed),
        "model-00002-of-00002.safetensors": safetensors_bytes({"b.weight": 20_000}, seed=seed + 1),
    }
    index = {
        "metadata": {},
        "weight_map": {"a.weight": next(iter(shards)), "b.weight": list(shards)[1]},
    }
    files = {"config.json": _config(), "model.safetensors.index.json": json.dumps(index).encode()}
    files.update(shards)
    files.update(_tokenizer_files())
    return files


def gguf_only_repo() -> dict[str, bytes]:
    """A repo holding only a GGUF file (it would need `mlxk import`)."""
    return {
        "tiny-Q4_0.gguf": b"GGUF" + struct.pack("<I", 3) + bytes(4096),
        "README.md": b"# gguf only\n",
    }


def pytorch_only_repo() -> dict[str, bytes]:
    """A repo with PyTorch pickle weights only."""
    files = {"config.json": _config(), "pytorch_model.bin": b"PK\x03\x04" + bytes(8192)}
    files.update(_tokenizer_files())
    return files
