"""File-only model repos for cache tests: no training, no mlx; written through store_snapshot.

Each ``make_<variant>(cache_dir, repo_id=...)`` writes one repo into the hub cache at
``cache_dir`` and returns its snapshot path. Weights are tiny, zero-filled safetensors with
realistic tensor names and dtypes; GGUF files carry the GGUF magic.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlxk_core.cache.store import store_snapshot

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
HARMONY_TEMPLATE = (
    "{% for m in messages %}<|start|>{{ m['role'] }}<|message|>{{ m['content'] }}<|end|>"
    "{% endfor %}{% if add_generation_prompt %}<|start|>assistant<|channel|>analysis"
    "<|message|>{% endif %}"
)
LFS_POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    b"size 12345678\n"
)
_DTYPE_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "U32": 4, "I8": 1}


def safetensors_bytes(
    tensors: Mapping[str, tuple[str, tuple[int, ...]]], metadata: Mapping[str, str] | None = None
) -> bytes:
    """A valid safetensors file of zero-filled tensors: name -> (dtype, shape)."""
    header: dict[str, Any] = {"__metadata__": dict(metadata)} if metadata else {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        size = count * _DTYPE_BYTES[dtype]
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def gguf_bytes(size: int) -> bytes:
    """Bytes that start like a GGUF v3 file (magic, version), padded to ``size``."""
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, 0)
    return head + bytes(max(0, size - len(head)))


def llama_config(**extra: Any) -> bytes:
    """config.json of a tiny llama-family model, with ``extra`` keys merged in."""
    config: dict[str, Any] = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 256,
        "max_position_embeddings": 8192,
        "torch_dtype": "bfloat16",
    }
    config.update(extra)
    return json.dumps(config).encode()


def tokenizer_files(template: str | None = CHAT_TEMPLATE) -> dict[str, bytes]:
    """tokenizer.json plus tokenizer_config.json (with ``template`` unless None)."""
    tok_config: dict[str, Any] = {"model_max_length": 8192, "eos_token": "<|im_end|>"}
    if template is not None:
        tok_config["chat_template"] = template
    tokenizer = {"version": "1.0", "model": {"type": "BPE", "vocab": {}, "merges": []}}
    return {
        "tokenizer.json": json.dumps(tokenizer).encode(),
        "tokenizer_config.json": json.dumps(tok_config).encode(),
    }


def mlx_weights(bits: int = 4, dtype: str = "BF16") -> bytes:
    """MLX-style quantized weights: packed U32 weights with ``.scales``/``.biases``."""
    packed = 64 * bits // 32
    return safetensors_bytes(
        {
            "model.embed_tokens.weight": ("U32", (256, packed)),
            "model.embed_tokens.scales": (dtype, (256, 1)),
            "model.embed_tokens.biases": (dtype, (256, 1)),
            "model.norm.weight": (dtype, (64,)),
        },
        {"format": "mlx"},
    )


def torch_weights(dtype: str = "BF16") -> bytes:
    """Plain Hugging Face weights (no quantization tensors, no mlx metadata)."""
    return safetensors_bytes(
        {"model.embed_tokens.weight": (dtype, (256, 64)), "model.norm.weight": (dtype, (64,))},
        {"format": "pt"},
    )


def _mlx_files(**config: Any) -> dict[str, bytes]:
    quant = config.pop("quantization", {"group_size": 64, "bits": 4})
    template = config.pop("template", CHAT_TEMPLATE)
    return {
        "config.json": llama_config(quantization=quant, **config),
        "model.safetensors": mlx_weights(),
        **tokenizer_files(template),
    }


def make_mlx_model(cache_dir: Path, repo_id: str = "mlx-community/Tiny-Chat-4bit") -> Path:
    """A 4-bit MLX chat model with an 8K context."""
    return store_snapshot(cache_dir, repo_id, _mlx_files())


def make_sharded(cache_dir: Path, repo_id: str = "mlx-community/Tiny-Sharded-4bit") -> Path:
    """An MLX model split into two shards with a complete index."""
    return store_snapshot(cache_dir, repo_id, _sharded_files(keep_second=True))


def make_missing_shard(cache_dir: Path, repo_id: str = "mlx-community/Tiny-Missing-Shard") -> Path:
    """A sharded model whose index maps tensors to a second shard that is not there."""
    return store_snapshot(cache_dir, repo_id, _sharded_files(keep_second=False))


def _sharded_files(keep_second: bool) -> dict[str, bytes]:
    first, second = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    index = {
        "metadata": {"total_size": 1024},
        "weight_map": {"model.embed_tokens.weight": first, "model.norm.weight": second},
    }
    files = _mlx_files()
    del files["model.safetensors"]
    files[first] = safetensors_bytes({"model.embed_tokens.weight": ("U32", (256, 8))})
    if keep_second:
        files[second] = safetensors_bytes({"model.norm.weight": ("BF16", (64,))})
    files["model.safetensors.index.json"] = json.dumps(index).encode()
    return files


def make_lfs_pointer(cache_dir: Path, repo_id: str = "mlx-community/Tiny-LFS-Pointer") -> Path:
    """An MLX model whose weights file is a Git LFS pointer."""
    files = _mlx_files()
    files["model.safetensors"] = LFS_POINTER
    return store_snapshot(cache_dir, repo_id, files)


def make_gguf_only(cache_dir: Path, repo_id: str = "bartowski/Tiny-Chat-GGUF") -> Path:
    """A GGUF-only repo with Q4_K_M, Q8_0 and F16 variants of different sizes."""
    return store_snapshot(
        cache_dir,
        repo_id,
        {
            "Tiny-Chat-Q4_K_M.gguf": gguf_bytes(3000),
            "Tiny-Chat-Q8_0.gguf": gguf_bytes(5000),
            "Tiny-Chat-f16.gguf": gguf_bytes(9000),
            "README.md": b"---\nlicense: mit\ntags:\n- gguf\n---\n# Tiny GGUF\n",
        },
    )


def make_pytorch_only(cache_dir: Path, repo_id: str = "acme/Tiny-Torch") -> Path:
    """A Hugging Face transformers repo: bf16 safetensors, no MLX signals."""
    files = {"config.json": llama_config(), "model.safetensors": torch_weights()}
    files.update(tokenizer_files())
    files["README.md"] = b"---\nlibrary_name: transformers\n---\n# Tiny torch\n"
    return store_snapshot(cache_dir, repo_id, files)


def make_mxfp4(cache_dir: Path, repo_id: str = "mlx-community/Tiny-MXFP4") -> Path:
    """An MLX model quantized with the advanced mxfp4 mode."""
    files = _mlx_files(quantization={"group_size": 32, "bits": 4, "mode": "mxfp4"})
    return store_snapshot(cache_dir, repo_id, files)


def make_long_context(cache_dir: Path, repo_id: str = "mlx-community/Tiny-32K") -> Path:
    """An MLX model whose config declares a 32K context."""
    return store_snapshot(cache_dir, repo_id, _mlx_files(max_position_embeddings=32768))


def make_base_model(cache_dir: Path, repo_id: str = "mlx-community/Tiny-Base-4bit") -> Path:
    """An MLX base model: no chat template anywhere."""
    return store_snapshot(cache_dir, repo_id, _mlx_files(template=None))


def make_reasoning(cache_dir: Path, repo_id: str = "mlx-community/Tiny-Harmony") -> Path:
    """An MLX model whose chat template uses gpt-oss harmony tokens."""
    return store_snapshot(cache_dir, repo_id, _mlx_files(template=HARMONY_TEMPLATE))


def make_embedding(cache_dir: Path, repo_id: str = "acme/Tiny-Embed") -> Path:
    """A sentence-transformers style BERT embedding model."""
    config = {"architectures": ["BertModel"], "model_type": "bert", "max_position_embeddings": 512}
    files = {
        "config.json": json.dumps(config).encode(),
        "model.safetensors": torch_weights("F32"),
        "modules.json": b"[]",
        "vocab.txt": b"[PAD]\n[UNK]\nhello\n",
    }
    return store_snapshot(cache_dir, repo_id, files)


def make_two_revisions(
    cache_dir: Path, repo_id: str = "mlx-community/Tiny-Two-Revisions"
) -> Path:
    """Two revisions sharing one weights blob; ``v1`` is old, ``main`` new (its path returned)."""
    old = _mlx_files()
    store_snapshot(cache_dir, repo_id, old, commit_hash="1" * 40, ref="v1")
    new = dict(old, **{"config.json": llama_config(quantization={"group_size": 32, "bits": 4})})
    return store_snapshot(cache_dir, repo_id, new, commit_hash="2" * 40, ref="main")
