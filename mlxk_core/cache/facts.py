"""Model facts read from files: framework, model type, quantization, context length, reasoning."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from mlxk_core.cache.embedding_facts import embedding_facts
from mlxk_core.cache.listing import UNREAD, Listing, list_dir, read_config, read_json, read_text
from mlxk_core.cache.records import Framework, GGUFVariant, ModelFacts, ModelType, Quantization
from mlxk_core.cache.safetensors import read_safetensors_header
from mlxk_core.generation.reasoning import is_reasoning_model
from mlxk_core.generation.tools import renders_tools

__all__ = ["ADVANCED_MODES", "facts_from_listing", "read_facts"]

# quantization mode -> first MLX release able to run it (mxfp4 came with gpt-oss support in 0.29;
# the CPU/Metal kernels for mxfp8 and nvfp4 landed later)
ADVANCED_MODES = {"mxfp4": "0.29.0", "mxfp8": "0.31.0", "nvfp4": "0.31.0"}

_CONTEXT_KEYS = ("max_position_embeddings", "n_ctx", "max_seq_len", "seq_length", "n_positions")
_CONTEXT_SENTINEL = 1_000_000_000
_DTYPES = {
    "bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float32": "fp32", "float": "fp32",
}
_HEADER_DTYPES = {
    "BF16": "bf16", "F16": "fp16", "F32": "fp32", "I8": "int8", "F8_E4M3": "fp8", "F8_E5M2": "fp8",
}
_GGUF_QUANT = re.compile(
    r"(?<![A-Za-z0-9])(I?Q\d+(?:_[A-Z0-9]+)*|TQ\d_\d|B?FP?(?:16|32)|MXFP4)(?![A-Za-z0-9])", re.I
)
_EMBEDDING_FILES = ("modules.json", "sentence_bert_config.json", "1_Pooling/config.json")
_EMBEDDING_TYPES = {"bert", "xlm-roberta", "roberta", "nomic_bert", "distilbert", "mpnet"}
_EMBEDDING_TAGS = {"sentence-transformers", "feature-extraction", "sentence-similarity"}
_CHAT_TAGS = {"conversational"}
_GENERATIVE_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")


def read_facts(path: Path, *, name: str | None = None) -> ModelFacts:
    """Facts about the model folder ``path`` (a cache snapshot or a local model directory).

    ``name`` is what the model is called (repo id or the path given; default: the folder name).
    """
    return facts_from_listing(Path(path), list_dir(Path(path)), name=name)


def facts_from_listing(
    root: Path, listing: Listing, config_json: Any = UNREAD, *, name: str | None = None
) -> ModelFacts:
    """Facts about ``root`` given its listing (name -> size); each file is read at most once."""
    config = _dict(read_config(root, listing, config_json))
    text_config = _dict(config.get("text_config"))
    tok_config = (
        _dict(read_json(root / "tokenizer_config.json"))
        if "tokenizer_config.json" in listing
        else {}
    )
    template = _chat_template(root, listing, tok_config)
    quant, mlx_quant = _quantization(config, text_config)
    # README and safetensors headers are read only when the config leaves a question open, or
    # for what may be an embedding model: mlx-lm's conversions drop modules.json, and only the
    # card's tags (sentence-transformers, ...) then tell a Qwen3-Embedding from a chat model
    named = "embed" in (root.name if name is None else name).lower()
    wanted = not mlx_quant or named or any(n in listing for n in _EMBEDDING_FILES)
    readme = _front_matter(root) if "README.md" in listing and wanted else {}
    mlx_readme = readme.get("library_name") == ["mlx"] or "mlx" in readme.get("tags", [])
    dtype = _config_dtype(config, text_config)
    safetensors = sorted(n for n in listing if n.endswith(".safetensors"))
    header: dict[str, Any] | None = None
    if safetensors and (not (mlx_quant or mlx_readme) or (quant is None and dtype is None)):
        header = read_safetensors_header(root / safetensors[0])
    ggufs = sorted(n for n in listing if n.endswith(".gguf"))
    framework = _framework(listing, safetensors, ggufs, mlx_quant or mlx_readme, header)
    architectures = config.get("architectures") or text_config.get("architectures") or []
    architecture = architectures[0] if architectures and isinstance(architectures[0], str) else None
    model_kind = config.get("model_type") or text_config.get("model_type")
    model_kind = model_kind if isinstance(model_kind, str) else None
    model_type = _model_type(listing, config, text_config, template, readme)
    tags = set(readme.get("tags", []))
    return ModelFacts(
        framework=framework,
        model_type=model_type,
        architecture=architecture or model_kind,
        precision="gguf" if framework == "gguf" else _precision(quant, dtype, header),
        quantization=quant,
        gguf_variants=tuple(
            GGUFVariant(filename=n, quant=_gguf_quant(n), size=listing[n] or 0) for n in ggufs
        ),
        context_length=_context_length(config, text_config, tok_config),
        reasoning=is_reasoning_model(
            root.name if name is None else name,
            chat_template=template,
            special_tokens=_special_tokens(tok_config),
            model_type=model_kind,
        ),
        tools=renders_tools(template) or isinstance(tok_config.get("tool_parser_type"), str),
        embedding=(
            embedding_facts(root, listing, config, tags) if model_type == "embedding" else None
        ),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _special_tokens(tok_config: dict[str, Any]) -> list[str]:
    """The added tokens a tokenizer_config.json declares (``added_tokens_decoder`` contents)."""
    added = _dict(tok_config.get("added_tokens_decoder")).values()
    return [str(t["content"]) for t in added if isinstance(t, dict) and "content" in t]


def _framework(
    listing: Listing,
    safetensors: list[str],
    ggufs: list[str],
    mlx_signal: bool,
    header: dict[str, Any] | None,
) -> Framework:
    if ggufs and not safetensors:
        return "gguf"
    if mlx_signal or (header is not None and _mlx_header(header)):
        return "mlx"
    if safetensors or any(n.endswith((".bin", ".pt", ".pth")) for n in listing):
        return "pytorch"
    return "unknown"


def _mlx_header(header: dict[str, Any]) -> bool:
    if _dict(header.get("__metadata__")).get("format") == "mlx":
        return True
    return any(k.endswith((".scales", ".biases")) for k in header)


def _quantization(config: dict[str, Any], text_config: dict[str, Any]) -> tuple[
    Quantization | None, bool
]:
    """The quantization record and whether its config keys are MLX-style."""
    for source in (config, text_config):
        for key in ("quantization", "quantization_config"):
            q = source.get(key)
            if isinstance(q, dict):
                mlx_style = key == "quantization" or "quant_method" not in q
                return _quant_record(q), mlx_style
    return None, False


def _quant_record(q: dict[str, Any]) -> Quantization:
    mode = q.get("mode") or q.get("quant_method")
    mode = mode if isinstance(mode, str) and mode != "affine" else None
    min_mlx = ADVANCED_MODES.get(mode) if mode else None
    bits, group = q.get("bits"), q.get("group_size")
    return Quantization(
        bits=bits if isinstance(bits, int) else None,
        group_size=group if isinstance(group, int) else None,
        mode=mode,
        min_mlx=min_mlx,
        supported=_mlx_meets(min_mlx) if min_mlx else True,
    )


@lru_cache(maxsize=8)
def _mlx_meets(minimum: str) -> bool:
    """Whether the installed mlx distribution is at least ``minimum`` (read from metadata)."""
    try:
        installed = metadata.version("mlx")
    except metadata.PackageNotFoundError:
        return False
    return _version_tuple(installed) >= _version_tuple(minimum)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(m) for m in re.findall(r"\d+", version.split("+")[0])[:3])


def _config_dtype(config: dict[str, Any], text_config: dict[str, Any]) -> str | None:
    for source in (config, text_config):
        for key in ("torch_dtype", "dtype"):
            value = source.get(key)
            if isinstance(value, str) and value.removeprefix("torch.") in _DTYPES:
                return _DTYPES[value.removeprefix("torch.")]
    return None


def _precision(
    quant: Quantization | None, dtype: str | None, header: dict[str, Any] | None
) -> str | None:
    if quant is not None:
        if quant.mode:
            return quant.mode
        return f"int{quant.bits}" if quant.bits else None
    if dtype is not None:
        return dtype
    if header is None:
        return None
    counts = Counter(
        _HEADER_DTYPES[v["dtype"]]
        for k, v in header.items()
        if k != "__metadata__" and isinstance(v, dict) and v.get("dtype") in _HEADER_DTYPES
    )
    return counts.most_common(1)[0][0] if counts else None


def _gguf_quant(filename: str) -> str:
    found = _GGUF_QUANT.findall(Path(filename).name.removesuffix(".gguf"))
    if not found:
        return "unknown"
    quant = str(found[-1]).upper()
    return {"FP16": "F16", "FP32": "F32"}.get(quant, quant)


def _context_length(
    config: dict[str, Any], text_config: dict[str, Any], tok_config: dict[str, Any]
) -> int | None:
    for source in (config, text_config):
        for key in _CONTEXT_KEYS:
            value = _sane(source.get(key))
            if value is not None:
                window = _bounding_window(source)
                return min(value, window) if window else value
    return _sane(tok_config.get("model_max_length"))


def _bounding_window(config: dict[str, Any]) -> int | None:
    """The sliding window, when every layer uses it (no hybrid full-attention layers)."""
    window = _sane(config.get("sliding_window"))
    if window is None or config.get("use_sliding_window") is False:
        return None
    hybrid = ("layer_types", "sliding_window_pattern", "max_window_layers")
    if any(key in config for key in hybrid) or config.get("cache_implementation") == "hybrid":
        return None
    return window


def _sane(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not 0 < value < _CONTEXT_SENTINEL or value != int(value):
        return None
    return int(value)


def _chat_template(root: Path, listing: Listing, tok_config: dict[str, Any]) -> str | None:
    template = tok_config.get("chat_template")
    if isinstance(template, list):
        template = "\n".join(
            str(t.get("template", "")) for t in template if isinstance(t, dict)
        )
    if isinstance(template, str) and template.strip():
        return template
    if "chat_template.jinja" in listing:
        text = read_text(root / "chat_template.jinja")
        if text and text.strip():
            return text
    if "chat_template.json" in listing:
        value = _dict(read_json(root / "chat_template.json")).get("chat_template")
        if isinstance(value, str) and value.strip():
            return value
    return None


def _model_type(
    listing: Listing,
    config: dict[str, Any],
    text_config: dict[str, Any],
    template: str | None,
    readme: dict[str, list[str]],
) -> ModelType:
    tags = set(readme.get("tags", [])) | set(readme.get("pipeline_tag", []))
    architectures = [a for a in config.get("architectures") or [] if isinstance(a, str)]
    if (
        any(name in listing for name in _EMBEDDING_FILES)
        or tags & _EMBEDDING_TAGS
        or config.get("model_type") in _EMBEDDING_TYPES
        or any("Embedding" in a for a in architectures)
    ):
        return "embedding"
    if template or tags & _CHAT_TAGS:
        return "chat"
    generative = architectures + [
        a for a in text_config.get("architectures") or [] if isinstance(a, str)
    ]
    if any(a.endswith(_GENERATIVE_SUFFIXES) for a in generative) or "text-generation" in tags:
        return "base"
    return "unknown"


def _front_matter(root: Path) -> dict[str, list[str]]:
    """``library_name``, ``pipeline_tag`` and ``tags`` from a README's YAML front matter."""
    text = read_text(root / "README.md", limit=32 << 10)
    if not text or not text.startswith("---"):
        return {}
    block = text[3:].split("\n---", 1)[0]
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in block.splitlines():
        stripped = line.strip()
        if current and stripped.startswith("- "):
            found[current].append(_scalar(stripped[2:]))
            continue
        key, sep, value = line.partition(":")
        if not sep or line[:1].isspace():
            current = None
            continue
        current = key.strip()
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            found[current] = [_scalar(v) for v in value[1:-1].split(",") if v.strip()]
        else:
            found[current] = [_scalar(value)] if value else []
    return found


def _scalar(value: str) -> str:
    return value.strip().strip("'\"").lower()
