"""Check that a GGUF header is a llama-family model we can import, and write its config.json."""

from __future__ import annotations

from typing import Any

from mlxk_core.errors import ImportFailed
from mlxk_core.gguf.reader import GGUFHeader

__all__ = ["SUPPORTED_TYPES", "check_supported", "llama_config"]

# Tensor types mlx.core.load keeps as they are (F16/F32) or as affine triples (Q4_0, Q4_1, Q8_0).
# It silently dequantizes others (K-quants, IQ types) to float16, which is not what a user asked
# for, so those are refused.
SUPPORTED_TYPES = ("F32", "F16", "Q4_0", "Q4_1", "Q8_0")
# Architectures whose tensors and hyperparameters map onto mlx-lm's llama model one to one.
_ARCHITECTURES = ("llama",)


def _number(value: float) -> float:
    """A float32 metadata value as people wrote it (1e-05, not 9.999999747378752e-06)."""
    return float(f"{value:.7g}")


def check_supported(header: GGUFHeader, source: str) -> None:
    """Raise ImportFailed unless the architecture and every tensor type are supported."""
    arch = header.metadata.get("general.architecture")
    if arch not in _ARCHITECTURES:
        raise ImportFailed(
            f"{source}: architecture '{arch}' is not supported by the GGUF import",
            hint="supported: " + ", ".join(_ARCHITECTURES)
            + "; look for an MLX version of the model and `mlxk pull` it",
        )
    bad = sorted({t.ggml_type for t in header.tensors if t.ggml_type not in SUPPORTED_TYPES})
    if bad:
        raise ImportFailed(
            f"{source}: tensor type(s) {', '.join(bad)} cannot be imported",
            hint="use a Q4_0, Q4_1, Q8_0, F16 or F32 variant of the model ("
            + ", ".join(SUPPORTED_TYPES) + " are supported)",
        )
    model = header.metadata.get("tokenizer.ggml.model")
    if model != "gpt2":
        raise ImportFailed(
            f"{source}: tokenizer type '{model}' is not supported by the GGUF import",
            hint="only byte-level BPE ('gpt2') tokenizers can be imported so far",
        )


def _require(meta: dict[str, Any], key: str, source: str) -> Any:
    if key not in meta:
        raise ImportFailed(
            f"{source}: metadata key '{key}' is missing", hint="the GGUF file is incomplete"
        )
    return meta[key]


def llama_config(
    header: GGUFHeader, source: str, quantization: dict[str, Any] | None
) -> dict[str, Any]:
    """config.json for mlx-lm's llama model from the GGUF's ``llama.*`` hyperparameters."""
    meta = header.metadata
    names = {t.name for t in header.tensors}
    heads = int(_require(meta, "llama.attention.head_count", source))
    hidden = int(_require(meta, "llama.embedding_length", source))
    tokens = meta.get("tokenizer.ggml.tokens") or []
    config: dict[str, Any] = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "num_hidden_layers": int(_require(meta, "llama.block_count", source)),
        "intermediate_size": int(_require(meta, "llama.feed_forward_length", source)),
        "num_attention_heads": heads,
        "num_key_value_heads": int(meta.get("llama.attention.head_count_kv", heads)),
        "head_dim": int(meta.get("llama.attention.key_length", hidden // heads)),
        "rms_norm_eps": _number(_require(meta, "llama.attention.layer_norm_rms_epsilon", source)),
        "rope_theta": _number(meta.get("llama.rope.freq_base", 10000.0)),
        "max_position_embeddings": int(meta.get("llama.context_length", 2048)),
        "vocab_size": int(meta.get("llama.vocab_size", len(tokens))),
        "tie_word_embeddings": "output.weight" not in names,
        "attention_bias": False,
        "mlp_bias": False,
    }
    scaling = meta.get("llama.rope.scaling.type", "none")
    if scaling not in ("none", "linear"):
        raise ImportFailed(
            f"{source}: rope scaling '{scaling}' is not supported by the GGUF import",
            hint="only models without rope scaling or with linear scaling can be imported",
        )
    if scaling == "linear":
        config["rope_scaling"] = {
            "type": "linear", "factor": _number(meta["llama.rope.scaling.factor"])
        }
    for key in ("bos_token_id", "eos_token_id"):
        if f"tokenizer.ggml.{key}" in meta:
            config[key] = int(meta[f"tokenizer.ggml.{key}"])
    if quantization:
        config["quantization"] = quantization
        config["quantization_config"] = quantization
    return config
