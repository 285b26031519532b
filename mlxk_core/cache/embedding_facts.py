"""What an embedding model's files declare: family, pooling, dimension, Matryoshka training.

Pooling comes from the sentence-transformers files when there are any (``modules.json`` names
the Pooling module's folder, whose ``config.json`` sets ``pooling_mode_*``), else from the
config (ModernBERT's ``classifier_pooling``), else from the family: decoders pool the last
token (what Qwen3-Embedding and other causal embedders are trained with), encoders the mean
(sentence-transformers' default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlxk_core.cache.listing import Listing, read_json
from mlxk_core.cache.records import EmbeddingFacts, EmbeddingFamily, Pooling

__all__ = ["ENCODER_TYPES", "embedding_facts"]

ENCODER_TYPES = frozenset({"bert", "xlm_roberta", "modernbert"})
"""Encoder architectures mlxk runs through mlx-embeddings (``model_type``, ``-`` as ``_``)."""

# other encoders seen in embedding repos; neither mlx-lm nor mlx-embeddings runs them
_OTHER_ENCODERS = frozenset({"roberta", "distilbert", "mpnet", "nomic_bert", "new", "gte"})
# decoder embedding families trained with Matryoshka representation learning (every
# Qwen3-Embedding size says "MRL Support: yes" without a card tag for it)
_MRL_DECODER_TYPES = frozenset({"qwen3"})
_POOLING_MODES: dict[str, Pooling] = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_lasttoken": "last",
}
_OTHER_MODES = (
    "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens",
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _positive(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if ok else None


def _modules(root: Path, listing: Listing) -> list[dict[str, Any]]:
    if "modules.json" not in listing:
        return []
    data = read_json(root / "modules.json")
    return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []


def _pooling_config(root: Path, listing: Listing, modules: list[dict[str, Any]]) -> dict[str, Any]:
    folders = [
        str(m.get("path", "")) for m in modules if str(m.get("type", "")).endswith("Pooling")
    ]
    for folder in dict.fromkeys([*folders, "1_Pooling"]):
        name = f"{folder.strip('/')}/config.json"
        if folder.strip("/") and name in listing:
            return _dict(read_json(root / name))
    return {}


def _family(model_type: str) -> tuple[EmbeddingFamily, str | None]:
    if model_type in ENCODER_TYPES:
        return "encoder", None
    if model_type in _OTHER_ENCODERS:
        return "encoder", f"the '{model_type}' architecture is not supported for embeddings"
    return "decoder", None


def embedding_facts(
    root: Path, listing: Listing, config: dict[str, Any], tags: set[str]
) -> EmbeddingFacts:
    """The embedding facts of the model folder ``root`` (config.json parsed, README ``tags``)."""
    text_config = _dict(config.get("text_config"))
    kind = config.get("model_type") or text_config.get("model_type") or ""
    model_type = kind.replace("-", "_") if isinstance(kind, str) else ""
    family, unsupported = _family(model_type)
    modules = _modules(root, listing)
    dense = [str(m.get("path")) for m in modules if str(m.get("type", "")).endswith("Dense")]
    if dense and unsupported is None:
        unsupported = f"it projects vectors with a Dense module ({dense[0]}) that mlxk lacks"
    pooling_config = _pooling_config(root, listing, modules)
    declared = [mode for key, mode in _POOLING_MODES.items() if pooling_config.get(key) is True]
    other = [key for key in _OTHER_MODES if pooling_config.get(key) is True]
    if other and unsupported is None:
        unsupported = f"its pooling ({other[0].removeprefix('pooling_mode_')}) is not supported"
    classifier = config.get("classifier_pooling")
    pooling: Pooling
    if declared:
        pooling = declared[0]
    elif classifier in ("cls", "mean"):
        pooling = classifier
    else:
        pooling = "last" if family == "decoder" else "mean"
    dimension = _positive(pooling_config.get("word_embedding_dimension")) or _positive(
        config.get("hidden_size") or text_config.get("hidden_size")
    )
    st_config = (
        _dict(read_json(root / "sentence_bert_config.json"))
        if "sentence_bert_config.json" in listing else {}
    )
    matryoshka = "matryoshka" in tags or (
        family == "decoder" and model_type in _MRL_DECODER_TYPES
    )
    return EmbeddingFacts(
        family=family, pooling=pooling, dimension=dimension,
        max_tokens=_positive(st_config.get("max_seq_length")), matryoshka=matryoshka,
        unsupported=unsupported,
    )
