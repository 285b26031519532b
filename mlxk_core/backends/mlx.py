"""The MLX backend. The ``mlx*`` modules of this package (and cpu_fastpath, sampling, masking)
are the backend corner: the only place ``mlx`` / ``mlx_lm`` are imported, always lazily.

It owns every device-specific choice: it loads an optimized BLAS before ``mlx`` is first
imported, and lays the weights out for the device with :mod:`mlxk_core.backends.cpu_fastpath`
(on the CPU: float32 compute, dense float32 weights where they fit; files untouched). It keeps
the KV caches of finished sequences so a new chat turn prefills only the tokens that changed.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any

from mlxk_core.backends.base import Detokenizer, ModelInfo, PromptTokens
from mlxk_core.backends.blas import BlasInfo, blas_hint_once, ensure_blas
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
from mlxk_core.backends.mlx_batch import MlxBatch
from mlxk_core.backends.mlx_cache import CacheStore
from mlxk_core.backends.mlx_tools import tool_format
from mlxk_core.backends.model_files import configured_eos_ids, remote_code_reason
from mlxk_core.errors import BackendUnavailable, GenerationError, ModelLoadError
from mlxk_core.generation.chat_format import fallback_transcript
from mlxk_core.generation.constrained import GrammarCompiler, TokenMatcher
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.settings import Settings

__all__ = ["MlxBackend", "encode_request", "make_detokenizer", "model_info", "release_thread"]


def _import_mlx(settings: Settings | None) -> tuple[BlasInfo, Any, Any]:
    """The BLAS in use, ``mlx.core`` and ``mlx_lm``; an optimized BLAS is loaded first."""
    blas = ensure_blas(settings.blas if settings else None)
    try:
        import mlx.core as mx
        import mlx_lm
    except ImportError as exc:
        raise BackendUnavailable(
            f"MLX is not usable here: {exc}",
            hint="install `mlx[cpu]` on Linux (or `mlx` on Apple silicon) and `mlx-lm`",
        ) from exc
    return blas, mx, mlx_lm


def release_thread() -> None:
    """Free the calling thread's MLX streams; a worker thread that used MLX calls it last.

    MLX streams are thread-local: a thread that ends holding them can make the process abort
    at exit ("terminate called without an active exception"). Does nothing if MLX never loaded.
    """
    if "mlx.core" not in sys.modules:
        return
    import mlx.core as mx

    mx.clear_streams()


class MlxBackend:
    """Runs one model with ``mlx_lm``; not thread-safe: use it from one thread."""

    def __init__(
        self, *, settings: Settings | None = None, device: DeviceKind | None = None,
        dtype: str | None = None, dequantize: bool | None = None,
        tool_parser: str | None = None,
    ) -> None:
        """``dtype``/``dequantize`` override the automatic layout, ``tool_parser`` each model's
        own mlx-lm tool parser (None: automatic)."""
        self._settings = settings
        self._tool_parser = tool_parser
        self._device = device
        self._dtype = check_dtype(dtype)
        self._dequantize = dequantize
        self.blas: BlasInfo | None = None
        self.device: DeviceKind | None = None
        self.layout: Layout | None = None
        self.model: Any = None
        self.tokenizer: Any = None
        self._store = CacheStore()
        self._compiler: GrammarCompiler | None = None
        self._eos: frozenset[int] = frozenset()

    @property
    def loaded(self) -> bool:
        """Whether a model is loaded."""
        return self.model is not None

    def load(self, path: Path, *, name: str) -> ModelInfo:
        """Load from a local folder; refuses repos that would run their own code."""
        reason = remote_code_reason(path)
        if reason:
            raise ModelLoadError(
                f"Refusing to load '{name}': {reason}",
                hint="mlxk never runs code shipped with a model; use an MLX conversion instead",
            )
        self.blas, mx, mlx_lm = _import_mlx(self._settings)
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"'{name}' has no config.json at {path}")
        try:
            model, tokenizer, config = mlx_lm.load(str(path), return_config=True)
        except Exception as exc:
            raise ModelLoadError(
                f"Could not load '{name}': {exc}",
                hint=f"run `mlxk health {name}`; an unsupported architecture needs a newer mlx-lm",
            ) from exc
        self.device = self._device or current_device()
        files, dense_bytes = describe_model(model)
        self.layout = choose_layout(
            device=self.device, blas=self.blas, file_layout=files, dense_bytes=dense_bytes,
            available_bytes=memory_info().available, dtype_override=self._dtype,
            dequantize_override=self._dequantize,
        )
        apply_layout(model, self.layout)
        info = model_info(name, path, tokenizer, config, self._tool_parser)
        self.model, self.tokenizer = model, tokenizer
        self._eos = info.eos_token_ids
        return info

    def blas_hint(self) -> str | None:
        """How to get a fast BLAS, once per process, when the CPU runs on the reference one."""
        if self.device != "cpu" or self.blas is None:
            return None
        return blas_hint_once(self.blas)

    def close(self) -> None:
        """Drop model, tokenizer and prompt cache, then free MLX's buffer cache; idempotent."""
        was_loaded = self.model is not None
        self.model = self.tokenizer = self._compiler = None
        self._store.clear()
        if was_loaded:
            gc.collect()
            import mlx.core as mx

            mx.clear_cache()

    def encode(self, request: GenerationRequest) -> PromptTokens:
        """Chat template (with the request's tools, if any), the fallback transcript, or the raw
        prompt, as token ids."""
        return encode_request(self._tok(), request)

    def token_matcher(self, grammar: str) -> TokenMatcher:
        """A constraint state for one sequence (the grammar compiler is built once per model)."""
        return self._grammars().matcher(grammar)

    def token_bytes(self, token: int) -> bytes:
        """The bytes a token id stands for."""
        return self._grammars().token_bytes(token)

    def _grammars(self) -> GrammarCompiler:
        if self._compiler is None:
            tok = self._tok()
            self._compiler = GrammarCompiler(tok, eos_token_ids=self._eos)
        return self._compiler

    def detokenizer(self, *, raw: bool = False) -> Detokenizer:
        """A fresh streaming detokenizer (one per request; never one per token)."""
        return make_detokenizer(self._tok(), raw=raw)

    def open_batch(self, *, max_batch: int, prefill_chunk: int) -> MlxBatch:
        """The batch of the loaded model (single-stream speed while it holds one sequence)."""
        if self.model is None:
            raise GenerationError("No model loaded", hint="load a model before generating")
        return MlxBatch(self.model, self._store, max_batch=max_batch, prefill_chunk=prefill_chunk)

    def peak_memory(self) -> int:
        """MLX's peak memory in bytes."""
        import mlx.core as mx

        return int(mx.get_peak_memory())

    def reset_peak_memory(self) -> None:
        """Start a new peak-memory measurement."""
        import mlx.core as mx

        mx.reset_peak_memory()

    def _tok(self) -> Any:
        if self.tokenizer is None:
            raise GenerationError("No model loaded", hint="use the Runner as a context manager")
        return self.tokenizer


def model_info(
    name: str, path: Path, tokenizer: Any, config: dict[str, Any], tool_parser: str | None
) -> ModelInfo:
    """What a loaded tokenizer and config tell generation; turns off the tokenizer's own
    length warning (the token budget checks prompt length)."""
    tools = tool_format(tokenizer, tool_parser)
    tokenizer.model_max_length = 1 << 62
    eos = set(tokenizer.eos_token_ids) | configured_eos_ids(path)
    added = getattr(tokenizer, "added_tokens_decoder", None) or {}
    return ModelInfo(
        name=name,
        eos_token_ids=frozenset(eos),
        context_length=config.get("max_position_embeddings"),
        chat_template=_template_text(tokenizer),
        special_tokens=tuple(str(getattr(t, "content", t)) for t in added.values()),
        tool_format=tools,
    )


def encode_request(tok: Any, request: GenerationRequest) -> PromptTokens:
    """Chat template (with the request's tools unless ``tool_choice`` is none), the fallback
    transcript, or the raw prompt, as token ids."""
    if request.messages is None:
        text = request.prompt or ""
        bos = tok.bos_token
        ids = tok.encode(text, add_special_tokens=bos is None or not text.startswith(bos))
        return PromptTokens(text, tuple(ids))
    if tok.has_chat_template:
        messages = [m.as_dict() for m in request.messages]
        offered = request.tools if request.tool_choice != "none" else ()
        tools = [t.as_dict() for t in offered] or None
        text = tok.apply_chat_template(
            messages, tools=tools, tokenize=False, add_generation_prompt=True
        )
        return PromptTokens(text, tuple(tok.encode(text, add_special_tokens=False)))
    text = fallback_transcript(request.messages)
    return PromptTokens(text, tuple(tok.encode(text)), fallback_format=True)


def make_detokenizer(tok: Any, *, raw: bool = False) -> Detokenizer:
    """A fresh streaming detokenizer of ``tok``.

    mlx_lm's BPE and SentencePiece detokenizers drop the first token's leading space, which
    suits chat answers; a raw completion continues its prompt, so ``raw`` keeps that space.
    """
    detokenizer: Any = tok.detokenizer
    if raw:
        if hasattr(detokenizer, "trim_space"):
            detokenizer.trim_space = False
        elif hasattr(detokenizer, "_maybe_trim_space"):
            detokenizer._maybe_trim_space = _keep_text
    result: Detokenizer = detokenizer
    return result


def _template_text(tokenizer: Any) -> str | None:
    if not tokenizer.has_chat_template:
        return None
    template = getattr(tokenizer, "chat_template", None)
    return template if isinstance(template, str) else ""


def _keep_text(text: str) -> str:
    return text
