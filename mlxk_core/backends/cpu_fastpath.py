"""The CPU fast path: how a loaded model's weights sit in memory, chosen per device and applied.

On MLX's CPU backend half-precision activations are 8-30x slower than float32, and quantized
matmuls run on MLX's own kernels while dense float32 matmuls go to the BLAS (OpenBLAS is ~30x
the bundled reference BLAS). So on the CPU every floating parameter becomes float32, and with an
optimized BLAS quantized linear layers and embeddings are dequantized to dense float32 when the
dense model fits in :data:`DENSE_MEMORY_SHARE` of the available memory. Metal and CUDA keep the
files' layout. Everything happens in memory: the cache files are never rewritten. ``mlx`` is
imported lazily, inside the functions that need a model.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any, Literal

from mlxk_core.backends.blas import BlasInfo
from mlxk_core.errors import InvalidRequest

__all__ = [
    "COMPUTE_DTYPES",
    "DENSE_MEMORY_SHARE",
    "DeviceKind",
    "FileLayout",
    "Layout",
    "MemoryInfo",
    "apply_layout",
    "check_dtype",
    "choose_layout",
    "current_device",
    "describe_model",
    "memory_info",
]

DeviceKind = Literal["cpu", "metal", "cuda"]

COMPUTE_DTYPES = ("float32", "bfloat16", "float16")

# Dense float32 weights are used only when they take at most this share of the memory that is
# available after loading, so the KV cache, the activations and the rest of the system keep room.
DENSE_MEMORY_SHARE = 0.5


@dataclass(frozen=True)
class FileLayout:
    """How the loaded files hold the model: activation dtype and quantization bits (None: dense)."""

    dtype: str
    bits: int | None = None


@dataclass(frozen=True)
class Layout:
    """How weights sit in memory: ``compute_dtype`` None keeps each tensor's stored dtype."""

    compute_dtype: str | None
    dequantize: bool
    reason: str

    @property
    def as_stored(self) -> bool:
        """Whether the model stays exactly as the files hold it."""
        return self.compute_dtype is None and not self.dequantize


@dataclass(frozen=True)
class MemoryInfo:
    """System memory in bytes; ``available`` is what can be used without swapping."""

    total: int
    available: int


def check_dtype(dtype: str | None) -> str | None:
    """``dtype`` if it is a compute dtype mlxk supports (or None); else InvalidRequest."""
    if dtype is None or dtype in COMPUTE_DTYPES:
        return dtype
    raise InvalidRequest(
        f"Unknown compute dtype '{dtype}'",
        param="dtype",
        hint="use one of " + ", ".join(COMPUTE_DTYPES),
    )


def _gb(num: int) -> str:
    return f"{num / 1e9:.1f} GB"


def choose_layout(
    *,
    device: DeviceKind,
    blas: BlasInfo,
    file_layout: FileLayout,
    dense_bytes: int,
    available_bytes: int,
    dtype_override: str | None = None,
    dequantize_override: bool | None = None,
) -> Layout:
    """The in-memory layout for a model on ``device``; explicit overrides always win.

    ``dense_bytes`` is the size of the model with every quantized layer dense in the compute
    dtype. On Metal and CUDA the automatic choice is the files' layout.
    """
    dtype = check_dtype(dtype_override)
    quantized = file_layout.bits is not None
    if dequantize_override is not None:
        dequantize = dequantize_override and quantized
        why = "dense weights requested" if dequantize_override else "quantized weights requested"
    elif device != "cpu":
        asked = f", {dtype} requested" if dtype else ""
        return Layout(dtype, False, f"{device}: as stored{asked}")
    elif not quantized:
        dequantize, why = False, "dense weights"
    elif (dtype or "float32") != "float32":
        dequantize, why = False, f"quantized weights: the BLAS gains nothing in {dtype}"
    elif not blas.optimized:
        dequantize, why = False, "quantized weights: only the reference BLAS is available"
    elif dense_bytes > available_bytes * DENSE_MEMORY_SHARE:
        dequantize = False
        why = (
            f"quantized weights: dense float32 ({_gb(dense_bytes)}) exceeds "
            f"{DENSE_MEMORY_SHARE:.0%} of available memory ({_gb(available_bytes)})"
        )
    else:
        dequantize, why = True, f"dense float32 weights through {blas.kind}"
    if device != "cpu":
        return Layout(dtype, dequantize, f"{device}: {why}")
    compute = dtype or "float32"
    return Layout(compute, dequantize, f"cpu: {compute} compute, {why}")


def memory_info() -> MemoryInfo:
    """Total and available system memory (``/proc/meminfo`` on Linux; total elsewhere)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            fields = dict(line.split(":", 1) for line in fh if ":" in line)
        total = int(fields["MemTotal"].split()[0]) * 1024
        available = int(fields.get("MemAvailable", fields["MemFree"]).split()[0]) * 1024
        return MemoryInfo(total, available)
    except (OSError, KeyError, ValueError):
        pass
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return MemoryInfo(0, 0)
    return MemoryInfo(total, total)


def _mlx() -> tuple[Any, Any, Any]:
    """``mlx.core``, ``mlx.nn`` and ``mlx.utils``, imported on first use."""
    names = ("mlx.core", "mlx.nn", "mlx.utils")
    mx, nn, utils = (importlib.import_module(name) for name in names)
    return mx, nn, utils


def current_device() -> DeviceKind:
    """The device MLX computes on by default: ``cpu``, ``metal`` or ``cuda``."""
    mx, _, _ = _mlx()
    if mx.default_device().type == mx.cpu:
        return "cpu"
    cuda = getattr(mx, "cuda", None)
    return "cuda" if cuda is not None and cuda.is_available() else "metal"


def _quantized_types() -> Any:
    _, nn, _ = _mlx()
    return (nn.QuantizedLinear, nn.QuantizedEmbedding)


def _leaves(model: Any) -> list[tuple[str, Any]]:
    return [(name, module) for name, module in model.named_modules() if not module.children()]


def describe_model(model: Any, *, itemsize: int = 4) -> tuple[FileLayout, int]:
    """The model's stored layout, and its size in bytes with every weight dense at ``itemsize``.

    The activation dtype follows the norm weights (else the first floating parameter), as MLX
    computes each layer in the dtype of its inputs and weights.
    """
    mx, _, utils = _mlx()
    quantized = _quantized_types()
    bits: int | None = None
    dense = 0
    for _, module in _leaves(model):
        params = dict(utils.tree_flatten(module.parameters()))
        if isinstance(module, quantized):
            bits = bits or module.bits
            rows, packed = module.weight.shape
            dense += rows * packed * 32 // module.bits * itemsize
            params = {k: v for k, v in params.items() if k not in ("weight", "scales", "biases")}
        for value in params.values():
            floating = mx.issubdtype(value.dtype, mx.floating)
            dense += value.size * itemsize if floating else value.nbytes
    return FileLayout(_activation_dtype(model), bits), dense


def _activation_dtype(model: Any) -> str:
    mx, _, utils = _mlx()
    params = utils.tree_flatten(model.parameters())
    floating = [(k, v) for k, v in params if mx.issubdtype(v.dtype, mx.floating)]
    norms = [v for k, v in floating if "norm" in k]
    chosen = norms or [v for _, v in floating]
    return str(chosen[0].dtype).removeprefix("mlx.core.") if chosen else "float32"


def apply_layout(model: Any, layout: Layout) -> None:
    """Dequantize and cast ``model`` in memory as ``layout`` says (the files stay as they are)."""
    mx, _, _ = _mlx()
    if layout.dequantize:
        dtype = getattr(mx, layout.compute_dtype) if layout.compute_dtype else None
        model.update_modules(_dense_modules(model, dtype))
    if layout.compute_dtype:
        model.set_dtype(getattr(mx, layout.compute_dtype))
    mx.eval(model.parameters())


def _dense_modules(model: Any, dtype: Any) -> Any:
    """The leaf modules with every quantized one replaced by its dense equivalent."""
    _, nn, utils = _mlx()
    quantized = _quantized_types()

    def densify(_: str, module: Any) -> Any:
        return _dense(module, dtype) if isinstance(module, quantized) else module

    return utils.tree_map_with_path(densify, model.leaf_modules(), is_leaf=nn.Module.is_module)


def _dense(module: Any, dtype: Any) -> Any:
    mx, nn, _ = _mlx()
    weight = mx.dequantize(
        module.weight, module.scales, module.get("biases"),
        group_size=module.group_size, bits=module.bits, mode=module.mode,
    )
    if dtype is not None:
        weight = weight.astype(dtype)
    mx.eval(weight)  # one layer at a time keeps the peak at quantized + dense
    rows, cols = weight.shape
    if isinstance(module, nn.QuantizedEmbedding):
        dense: Any = nn.Embedding(rows, cols)
    else:
        dense = nn.Linear(cols, rows, bias="bias" in module)
        if "bias" in module:
            dense.bias = module.bias
    dense.weight = weight
    return dense
