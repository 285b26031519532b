"""The CPU fast path: the layout choice on every device/BLAS/memory case, and applying it."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from mlxk_core.backends.blas import BlasInfo
from mlxk_core.backends.cpu_fastpath import (
    DENSE_MEMORY_SHARE,
    FileLayout,
    Layout,
    apply_layout,
    choose_layout,
    describe_model,
    memory_info,
)
from mlxk_core.errors import InvalidRequest

OPENBLAS = BlasInfo("openblas", "/usr/lib/libopenblas.so.0", True, "loaded")
REFERENCE = BlasInfo("reference", None, False, "no OpenBLAS or MKL found")
Q4_HALF = FileLayout("float16", 4)
Q4_GGUF = FileLayout("float32", 4)
DENSE_BF16 = FileLayout("bfloat16", None)
GB = 10**9


def choose(**kw: Any) -> Layout:
    args: dict[str, Any] = dict(
        device="cpu", blas=OPENBLAS, file_layout=Q4_HALF, dense_bytes=GB, available_bytes=8 * GB
    )
    args.update(kw)
    return choose_layout(**args)


@pytest.mark.parametrize(
    ("device", "blas", "files", "available"),
    list(
        itertools.product(
            ["metal", "cuda"], [OPENBLAS, REFERENCE], [Q4_HALF, Q4_GGUF, DENSE_BF16], [GB, 64 * GB]
        )
    ),
)
def test_gpu_keeps_the_files_layout(
    device: str, blas: BlasInfo, files: FileLayout, available: int
) -> None:
    layout = choose(device=device, blas=blas, file_layout=files, available_bytes=available)
    assert layout.as_stored
    assert layout.compute_dtype is None and layout.dequantize is False


@pytest.mark.parametrize("files", [Q4_HALF, Q4_GGUF])
def test_cpu_with_openblas_dequantizes_to_float32_when_it_fits(files: FileLayout) -> None:
    layout = choose(file_layout=files)
    assert (layout.compute_dtype, layout.dequantize) == ("float32", True)
    assert "openblas" in layout.reason


def test_cpu_keeps_quantized_weights_beyond_the_memory_share() -> None:
    limit = int(8 * GB * DENSE_MEMORY_SHARE)
    assert choose(dense_bytes=limit).dequantize is True
    over = choose(dense_bytes=limit + 1)
    assert (over.compute_dtype, over.dequantize) == ("float32", False)
    assert "50% of available memory" in over.reason


@pytest.mark.parametrize("files", [Q4_HALF, Q4_GGUF])
def test_cpu_with_reference_blas_keeps_quantized_weights_in_float32(files: FileLayout) -> None:
    layout = choose(blas=REFERENCE, file_layout=files)
    assert (layout.compute_dtype, layout.dequantize) == ("float32", False)
    assert "reference BLAS" in layout.reason


@pytest.mark.parametrize("blas", [OPENBLAS, REFERENCE])
def test_cpu_dense_model_is_cast_to_float32(blas: BlasInfo) -> None:
    layout = choose(blas=blas, file_layout=DENSE_BF16)
    assert (layout.compute_dtype, layout.dequantize) == ("float32", False)


def test_overrides_win_on_every_device() -> None:
    assert choose(dequantize_override=False).dequantize is False
    assert choose(blas=REFERENCE, dequantize_override=True).dequantize is True
    assert choose(dense_bytes=100 * GB, dequantize_override=True).dequantize is True
    assert choose(dtype_override="bfloat16") == Layout(
        "bfloat16", False, "cpu: bfloat16 compute, quantized weights: the BLAS gains nothing "
        "in bfloat16"
    )
    on_metal = choose(device="metal", dtype_override="float32", dequantize_override=True)
    assert (on_metal.compute_dtype, on_metal.dequantize) == ("float32", True)
    assert choose(file_layout=DENSE_BF16, dequantize_override=True).dequantize is False


def test_unknown_dtype_is_a_clear_error() -> None:
    with pytest.raises(InvalidRequest, match="float32, bfloat16, float16"):
        choose(dtype_override="int8")


def test_memory_info_reads_the_system() -> None:
    memory = memory_info()
    assert 0 < memory.available <= memory.total


def _tiny_quantized(half: bool) -> Any:
    import mlx.core as mx
    import mlx.nn as nn
    from mlx_lm.models.llama import Model, ModelArgs

    mx.random.seed(3)
    model = Model(ModelArgs.from_dict({
        "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5, "vocab_size": 96, "tie_word_embeddings": True,
    }))
    if half:
        model.set_dtype(mx.float16)
    nn.quantize(model, group_size=32, bits=4)
    return model


def test_describe_reports_stored_layout_and_dense_size() -> None:
    files, dense = describe_model(_tiny_quantized(half=True))
    assert files == FileLayout("float16", 4)
    weights = 96 * 64 + 2 * (64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128)
    norms = 2 * 2 * 64 + 64
    assert dense == 4 * (weights + norms)


def test_apply_layout_makes_quantized_layers_dense_float32_with_the_same_logits() -> None:
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten

    model = _tiny_quantized(half=False)
    tokens = mx.array([[5, 17, 3, 42, 8]])
    before = model(tokens)
    apply_layout(model, Layout("float32", True, "test"))
    kinds = {type(m) for _, m in model.named_modules()}
    assert nn.QuantizedLinear not in kinds and nn.QuantizedEmbedding not in kinds
    assert {v.dtype for _, v in tree_flatten(model.parameters())} == {mx.float32}
    assert mx.allclose(model(tokens), before, atol=1e-4).item()


def test_apply_layout_casts_half_scales_and_norms_but_keeps_quantized_weights() -> None:
    import mlx.core as mx
    import mlx.nn as nn

    model = _tiny_quantized(half=True)
    apply_layout(model, Layout("float32", False, "test"))
    proj = model.model.layers[0].self_attn.q_proj
    assert isinstance(proj, nn.QuantizedLinear)
    assert proj.weight.dtype == mx.uint32 and proj.scales.dtype == mx.float32
    assert model.model.norm.weight.dtype == mx.float32
    assert model(mx.array([[1, 2, 3]])).dtype == mx.float32
