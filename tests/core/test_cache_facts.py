"""Model facts come from files: framework, type, quantization, precision, context, reasoning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlxk_core.cache import facts as facts_module
from mlxk_core.cache.facts import read_facts
from mlxk_core.cache.store import store_snapshot
from tests.factory import variants as v


def test_mlx_model_facts(hf_cache: Path) -> None:
    facts = read_facts(v.make_mlx_model(hf_cache))
    assert facts.framework == "mlx"
    assert facts.model_type == "chat"
    assert facts.architecture == "LlamaForCausalLM"
    assert facts.precision == "int4"
    assert facts.quantization is not None
    assert (facts.quantization.bits, facts.quantization.group_size) == (4, 64)
    assert facts.quantization.description == "4-bit, group 64"
    assert facts.context_length == 8192
    assert facts.reasoning is False


def test_mxfp4_is_an_advanced_mode_with_its_mlx_requirement(hf_cache: Path) -> None:
    q = read_facts(v.make_mxfp4(hf_cache)).quantization
    assert q is not None
    assert q.mode == "mxfp4"
    assert q.description == "Advanced mode 'mxfp4' (requires MLX >=0.29.0)"
    assert q.supported is True  # mlx 0.32 is installed here


def test_mxfp4_unsupported_when_installed_mlx_is_too_old(
    hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(facts_module.metadata, "version", lambda name: "0.28.0")
    facts_module._mlx_meets.cache_clear()
    try:
        q = read_facts(v.make_mxfp4(hf_cache)).quantization
    finally:
        facts_module._mlx_meets.cache_clear()
    assert q is not None and q.supported is False


def test_gguf_variants_with_quant_and_size(hf_cache: Path) -> None:
    facts = read_facts(v.make_gguf_only(hf_cache))
    assert facts.framework == "gguf"
    found = {(g.filename, g.quant, g.size) for g in facts.gguf_variants}
    assert found == {
        ("Tiny-Chat-Q4_K_M.gguf", "Q4_K_M", 3000),
        ("Tiny-Chat-Q8_0.gguf", "Q8_0", 5000),
        ("Tiny-Chat-f16.gguf", "F16", 9000),
    }


def test_pytorch_repo_is_not_mlx(hf_cache: Path) -> None:
    facts = read_facts(v.make_pytorch_only(hf_cache))
    assert facts.framework == "pytorch"
    assert facts.precision == "bf16"
    assert facts.quantization is None


def test_context_length_32k_and_base_model(hf_cache: Path) -> None:
    assert read_facts(v.make_long_context(hf_cache)).context_length == 32768
    base = read_facts(v.make_base_model(hf_cache))
    assert base.model_type == "base"


def test_reasoning_from_harmony_template(hf_cache: Path) -> None:
    assert read_facts(v.make_reasoning(hf_cache)).reasoning is True


def test_embedding_model(hf_cache: Path) -> None:
    facts = read_facts(v.make_embedding(hf_cache))
    assert facts.model_type == "embedding"
    assert facts.precision == "fp32"  # config has no dtype: read from the safetensors header


def _facts(tmp: Path, files: dict[str, bytes]) -> object:
    for name, data in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(data)
    return read_facts(tmp)


def _cfg(**kw: object) -> bytes:
    return json.dumps(kw).encode()


@pytest.mark.parametrize(
    ("files", "framework"),
    [
        # MLX weights detected from the safetensors header (scales/biases), no config hint
        ({"config.json": _cfg(model_type="llama"), "model.safetensors": v.mlx_weights()}, "mlx"),
        # MLX metadata only (unquantized MLX conversion)
        (
            {
                "config.json": _cfg(model_type="llama"),
                "model.safetensors": v.safetensors_bytes(
                    {"w": ("F16", (2,))}, {"format": "mlx"}
                ),
            },
            "mlx",
        ),
        # README front matter, inline list and block list
        (
            {"config.json": _cfg(), "model.safetensors": v.torch_weights(),
             "README.md": b"---\ntags: [text-generation, mlx]\n---\n"},
            "mlx",
        ),
        (
            {"config.json": _cfg(), "model.safetensors": v.torch_weights(),
             "README.md": b"---\nlibrary_name: mlx\nlicense: mit\n---\nbody\n"},
            "mlx",
        ),
        # quantization_config without quant_method: MLX style
        (
            {"config.json": _cfg(quantization_config={"bits": 8, "group_size": 64}),
             "model.safetensors": v.torch_weights()},
            "mlx",
        ),
        # quant_method means a transformers quantizer (GPTQ...), not MLX
        (
            {"config.json": _cfg(quantization_config={"quant_method": "gptq", "bits": 4}),
             "model.safetensors": v.torch_weights()},
            "pytorch",
        ),
        ({"config.json": _cfg(), "pytorch_model.bin": b"\x80\x02"}, "pytorch"),
        ({"config.json": _cfg()}, "unknown"),
    ],
)
def test_framework_detection(tmp_path: Path, files: dict[str, bytes], framework: str) -> None:
    assert _facts(tmp_path, files).framework == framework  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("config", "tok_config", "expected"),
    [
        ({"max_position_embeddings": 4096}, {}, 4096),
        ({"n_ctx": 2048}, {}, 2048),
        ({"max_seq_len": 1024}, {}, 1024),
        ({"seq_length": 3000}, {}, 3000),
        ({"text_config": {"max_position_embeddings": 131072}}, {}, 131072),
        # a sliding window that every layer uses bounds the context
        ({"max_position_embeddings": 32768, "sliding_window": 4096}, {}, 4096),
        # ...but not when it is switched off or layers are hybrid
        ({"max_position_embeddings": 32768, "sliding_window": 4096,
          "use_sliding_window": False}, {}, 32768),
        ({"max_position_embeddings": 131072, "sliding_window": 128,
          "layer_types": ["sliding_attention", "full_attention"]}, {}, 131072),
        ({}, {"model_max_length": 2048}, 2048),
        ({}, {"model_max_length": 1e30}, None),  # transformers' "no limit" sentinel
        ({}, {}, None),
    ],
)
def test_context_length(
    tmp_path: Path, config: dict[str, object], tok_config: dict[str, object], expected: int | None
) -> None:
    files = {"config.json": _cfg(**config), "tokenizer_config.json": _cfg(**tok_config)}
    assert _facts(tmp_path, files).context_length == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("files", "reasoning", "model_type"),
    [
        ({"chat_template.jinja": b"{{ '<think>' }}{{ messages }}"}, True, "chat"),
        ({"tokenizer_config.json": _cfg(chat_template=[{"name": "default",
                                                        "template": "<|channel|>"}])},
         True, "chat"),
        ({"chat_template.jinja": b"{{ messages }}"}, False, "chat"),
        ({"config.json": _cfg(model_type="gpt_oss", architectures=["GptOssForCausalLM"])},
         True, "base"),
        ({"README.md": b"---\ntags:\n  - conversational\n---\n"}, False, "chat"),
        ({"config.json": _cfg(architectures=["BertModel"], model_type="bert")}, False,
         "embedding"),
        ({"config.json": _cfg()}, False, "unknown"),
    ],
)
def test_reasoning_and_model_type(
    tmp_path: Path, files: dict[str, bytes], reasoning: bool, model_type: str
) -> None:
    facts = _facts(tmp_path, files)
    assert facts.reasoning is reasoning  # type: ignore[attr-defined]
    assert facts.model_type == model_type  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("config", "header_dtype", "precision"),
    [
        ({"torch_dtype": "float16"}, "BF16", "fp16"),  # config wins over tensors
        ({"dtype": "float32"}, "BF16", "fp32"),
        ({}, "BF16", "bf16"),
        ({}, "F16", "fp16"),
        ({"quantization": {"bits": 8, "group_size": 64}}, "BF16", "int8"),
    ],
)
def test_precision(
    tmp_path: Path, config: dict[str, object], header_dtype: str, precision: str
) -> None:
    files = {"config.json": _cfg(**config), "model.safetensors": v.torch_weights(header_dtype)}
    assert _facts(tmp_path, files).precision == precision  # type: ignore[attr-defined]


def test_safetensors_header_is_read_without_loading_tensors(tmp_path: Path) -> None:
    # a header that promises 1 GB of tensor data the file does not hold: only the header is read
    data = v.safetensors_bytes({"a.scales": ("BF16", (1,))})[:-2]
    header = json.loads(data[8:])
    header["a.scales"]["data_offsets"] = [0, 1 << 30]
    raw = json.dumps(header).encode()
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw)
    assert read_facts(tmp_path).framework == "mlx"


def test_facts_never_come_from_the_name(hf_cache: Path) -> None:
    snap = store_snapshot(hf_cache, "mlx-community/Looks-Like-MLX-4bit", {"config.json": b"{}"})
    facts = read_facts(snap)
    assert facts.framework == "unknown"
    assert facts.quantization is None
