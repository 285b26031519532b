"""Build tokenizer.json and tokenizer_config.json from a GGUF's byte-level BPE metadata."""

from __future__ import annotations

import json
from typing import Any

from mlxk_core.errors import ImportFailed

__all__ = ["tokenizer_files"]

# GGUF token types (llama.cpp's llama_token_type): control tokens are special, user-defined
# tokens are added (matched before BPE) but not special.
_CONTROL, _USER_DEFINED = 3, 4

_GPT2 = "gpt2"
_LLAMA3 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# tokenizer.ggml.pre -> how text is split before BPE (llama.cpp's pre-tokenizer kinds).
_PRE = {
    "default": _GPT2, "gpt2": _GPT2, "smollm": "digits", "llama-bpe": _LLAMA3, "llama3": _LLAMA3
}


def _pre_tokenizer(kind: str) -> Any:
    from tokenizers import Regex, pre_tokenizers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=kind != _LLAMA3)
    if kind == "digits":
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    if kind == _LLAMA3:
        split = pre_tokenizers.Split(Regex(_LLAMA3), behavior="isolated", invert=False)
        return pre_tokenizers.Sequence([split, byte_level])
    return byte_level


def _build(meta: dict[str, Any], kind: str) -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors

    tokens: list[str] = meta["tokenizer.ggml.tokens"]
    types: list[int] = meta.get("tokenizer.ggml.token_type") or [1] * len(tokens)
    merges = [tuple(m.split(" ", 1)) for m in meta.get("tokenizer.ggml.merges", [])]
    vocab = {token: i for i, token in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = _pre_tokenizer(kind)
    tok.decoder = decoders.ByteLevel()
    bos = meta.get("tokenizer.ggml.bos_token_id")
    if meta.get("tokenizer.ggml.add_bos_token") and bos is not None:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{tokens[bos]} $A", pair=f"{tokens[bos]} $A {tokens[bos]} $B",
            special_tokens=[(tokens[bos], bos)],
        )
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    kinds = dict(zip(tokens, types, strict=False))
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t, k in kinds.items() if k == _CONTROL]
    )
    tok.add_tokens(
        [AddedToken(t, normalized=False) for t, k in kinds.items() if k == _USER_DEFINED]
    )
    return tok


def _token(meta: dict[str, Any], key: str) -> str | None:
    index = meta.get(f"tokenizer.ggml.{key}_token_id")
    tokens: list[str] = meta["tokenizer.ggml.tokens"]
    return tokens[index] if isinstance(index, int) and 0 <= index < len(tokens) else None


def tokenizer_files(meta: dict[str, Any], source: str, context_length: int) -> dict[str, bytes]:
    """``tokenizer.json`` and ``tokenizer_config.json`` contents for the GGUF's tokenizer."""
    pre = str(meta.get("tokenizer.ggml.pre", "default"))
    if pre not in _PRE:
        raise ImportFailed(
            f"{source}: pre-tokenizer '{pre}' is not supported by the GGUF import",
            hint="supported: " + ", ".join(sorted(_PRE)),
        )
    if not meta.get("tokenizer.ggml.tokens"):
        raise ImportFailed(f"{source}: the GGUF has no tokenizer vocabulary", hint="re-export it")
    tokenizer = _build(meta, _PRE[pre])
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": bool(meta.get("tokenizer.ggml.add_bos_token", False)),
        "add_eos_token": bool(meta.get("tokenizer.ggml.add_eos_token", False)),
        "clean_up_tokenization_spaces": False,
        "model_max_length": context_length,
    }
    for key in ("bos", "eos", "unknown", "padding"):
        text = _token(meta, key)
        if text is not None:
            config[{"unknown": "unk", "padding": "pad"}.get(key, key) + "_token"] = text
    if meta.get("tokenizer.chat_template"):
        config["chat_template"] = meta["tokenizer.chat_template"]
    return {
        "tokenizer.json": tokenizer.to_str(pretty=False).encode(),
        "tokenizer_config.json": json.dumps(config, indent=2, ensure_ascii=False).encode(),
    }
