"""The MLX embedding backend: decoder embedders through mlx-lm, encoders through mlx-embeddings.

Decoders (Qwen3-Embedding and other causal models) load with mlx-lm's own model classes; their
final hidden states are the inner ``model.model`` output, before the language-model head.
Encoders (BERT, XLM-RoBERTa, ModernBERT) load with the optional ``mlx-embeddings`` package
(``pip install 'mlxk[embeddings]'``). Either way mlxk pads the rows of a pass on the right
(a causal model never looks right, an encoder gets the attention mask), pools the hidden states
as the model declares and normalizes; weights are laid out for the device as for generation.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlxk_core.backends.blas import BlasInfo
from mlxk_core.backends.cpu_fastpath import (
    DeviceKind,
    Layout,
    apply_layout,
    check_dtype,
    choose_layout,
    current_device,
    describe_model,
    memory_info,
)
from mlxk_core.backends.embed_base import EmbeddingInfo
from mlxk_core.backends.mlx import _import_mlx
from mlxk_core.backends.model_files import remote_code_reason
from mlxk_core.cache.records import EmbeddingFacts, Pooling
from mlxk_core.errors import BackendUnavailable, GenerationError, ModelLoadError
from mlxk_core.settings import Settings

__all__ = ["EMBEDDINGS_EXTRA", "MlxEmbeddingBackend"]

EMBEDDINGS_EXTRA = "pip install 'mlxk[embeddings]'"
"""How to get encoder (BERT-family) embedding models running."""


class MlxEmbeddingBackend:
    """Runs one embedding model with MLX; not thread-safe: use it from one thread."""

    def __init__(
        self, *, settings: Settings | None = None, device: DeviceKind | None = None,
        dtype: str | None = None, dequantize: bool | None = None,
    ) -> None:
        """``dtype`` / ``dequantize`` override the automatic weight layout."""
        self._settings = settings
        self._device = device
        self._dtype = check_dtype(dtype)
        self._dequantize = dequantize
        self.blas: BlasInfo | None = None
        self.layout: Layout | None = None
        self.model: Any = None
        self._tokenizer: Any = None
        self._encoder_type: str | None = None  # model_type of an encoder; None: a decoder
        self._pooling: Pooling = "mean"
        self._pad = 0

    @property
    def loaded(self) -> bool:
        """Whether a model is loaded."""
        return self.model is not None

    def load(self, path: Path, *, name: str, facts: EmbeddingFacts) -> EmbeddingInfo:
        """Load from a local folder; refuses repos that would run their own code."""
        reason = remote_code_reason(path) or facts.unsupported
        if reason:
            raise ModelLoadError(f"Refusing to embed with '{name}': {reason}",
                                 hint="use an MLX conversion of a supported embedding model")
        self.blas, _mx, mlx_lm = _import_mlx(self._settings)
        try:
            if facts.family == "encoder":
                model, tokenizer, config = _load_encoder(path)
            else:
                model, wrapper, config = mlx_lm.load(str(path), return_config=True)
                tokenizer = wrapper._tokenizer
        except BackendUnavailable:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"Could not load '{name}': {exc}",
                hint=f"run `mlxk health {name}`; an unsupported architecture needs a newer "
                "mlx-lm or mlx-embeddings",
            ) from exc
        device = self._device or current_device()
        files, dense_bytes = describe_model(model)
        self.layout = choose_layout(
            device=device, blas=self.blas, file_layout=files, dense_bytes=dense_bytes,
            available_bytes=memory_info().available, dtype_override=self._dtype,
            dequantize_override=self._dequantize,
        )
        apply_layout(model, self.layout)
        tokenizer.model_max_length = 1 << 62  # the engine checks lengths itself
        kind = str(config.get("model_type", "")).replace("-", "_")
        self._encoder_type = kind if facts.family == "encoder" else None
        self._pad = _pad_id(config, tokenizer)
        self._pooling = facts.pooling
        self.model, self._tokenizer = model, tokenizer
        return EmbeddingInfo(
            name=name,
            dimension=facts.dimension or int(config["hidden_size"]),
            pooling=facts.pooling,
            context_length=_context(config, kind),
            vocab_size=config.get("vocab_size"),
        )

    def tokenize(
        self, texts: Sequence[str], *, max_tokens: int | None = None
    ) -> list[tuple[int, ...]]:
        """Token ids with the model's special tokens (cut to ``max_tokens``, keeping them)."""
        if self._tokenizer is None:
            raise GenerationError("No embedding model loaded")
        cut = {"truncation": True, "max_length": max_tokens} if max_tokens else {}
        encoded = self._tokenizer(list(texts), add_special_tokens=True, **cut)
        return [tuple(ids) for ids in encoded["input_ids"]]

    def embed(self, rows: Sequence[Sequence[int]]) -> list[list[float]]:
        """One forward pass over the rows, padded on the right; pooled, unit-length vectors."""
        if self.model is None:
            raise GenerationError("No embedding model loaded")
        import mlx.core as mx

        width = max(len(r) for r in rows)
        ids = mx.array([list(r) + [self._pad] * (width - len(r)) for r in rows])
        mask = mx.array([[1.0] * len(r) + [0.0] * (width - len(r)) for r in rows])
        hidden = self._hidden(ids, mask)
        if self._pooling == "cls":
            pooled = hidden[:, 0, :]
        elif self._pooling == "last":
            last = mx.array([len(r) - 1 for r in rows])
            pooled = hidden[mx.arange(len(rows)), last]
        else:
            weights = mask[..., None].astype(hidden.dtype)
            pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
        pooled = pooled.astype(mx.float32)
        norms = mx.maximum(mx.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)
        vectors: list[list[float]] = (pooled / norms).tolist()
        return vectors

    def close(self) -> None:
        """Drop model and tokenizer, then free MLX's buffer cache; idempotent."""
        was_loaded = self.model is not None
        self.model = self._tokenizer = None
        if was_loaded:
            gc.collect()
            import mlx.core as mx

            mx.clear_cache()

    def _hidden(self, ids: Any, mask: Any) -> Any:
        """Final hidden states (batch, length, hidden) of the loaded model."""
        if self._encoder_type is None:
            return self.model.model(ids)  # causal: right padding never reaches a real token
        if self._encoder_type == "modernbert":  # its outer model pools; the inner one does not
            return self.model.model(ids, attention_mask=mask)["last_hidden_state"]
        return self.model(ids, attention_mask=mask).last_hidden_state


def _load_encoder(path: Path) -> tuple[Any, Any, dict[str, Any]]:
    try:
        from mlx_embeddings.utils import load_config, load_model
    except ImportError as exc:
        raise BackendUnavailable(
            f"Encoder embedding models (BERT, XLM-RoBERTa, ModernBERT) need mlx-embeddings: {exc}",
            hint=EMBEDDINGS_EXTRA,
        ) from exc
    from transformers import AutoTokenizer

    return load_model(path), AutoTokenizer.from_pretrained(str(path)), load_config(path)


def _pad_id(config: dict[str, Any], tokenizer: Any) -> int:
    """The id padding is written with: XLM-RoBERTa numbers positions after its pad id."""
    for value in (config.get("pad_token_id"), tokenizer.pad_token_id, tokenizer.eos_token_id):
        if isinstance(value, int):
            return value
    return 0


def _context(config: dict[str, Any], kind: str) -> int | None:
    positions = config.get("max_position_embeddings")
    if not isinstance(positions, int):
        return None
    if kind == "xlm_roberta":  # positions start after the pad id (514 positions hold 512 tokens)
        return positions - int(config.get("pad_token_id", 1)) - 1
    return positions
