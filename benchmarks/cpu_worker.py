"""Subprocess side of bench_cpu: build the two SmolLM2-135M-shaped 4-bit repos, or measure one
side (mlxk or bare mlx_lm) on one of them. Prints one JSON line.

    python -m benchmarks.cpu_worker build CACHE
    python -m benchmarks.cpu_worker measure CACHE REPO ours|bare PROMPT_TOKENS DECODE_TOKENS BATCH

Each measurement runs in a fresh process, so the bare peer runs MLX as installed (its bundled
reference BLAS) and mlxk runs with whatever optimized BLAS it finds, as users meet them.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_GGUF = ROOT / ".demo" / "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_REPO = "bench/smollm2-135m-gguf-import"
HALF_REPO = "bench/smollm2-135m-4bit-fp16"
SMOLLM2_SHAPE = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576,
    "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
    "num_key_value_heads": 3, "head_dim": 64, "rms_norm_eps": 1e-5, "rope_theta": 100000.0,
    "vocab_size": 49152, "max_position_embeddings": 8192, "tie_word_embeddings": True,
    "bos_token_id": 0, "eos_token_id": 2, "hidden_act": "silu",
}
BATCH_TOKENS = 12  # generated per sequence in the concurrent run
TEXT = (
    "The history of the city begins with a small settlement on the river, where traders met to "
    "exchange salt, grain and cloth. Over the centuries the town grew into a busy port. "
)


def _snapshot(cache: Path, repo_id: str) -> Path:
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    return repo / "snapshots" / (repo / "refs" / "main").read_text().strip()


def _random_gguf_layout(cache: Path) -> None:
    """Random weights of SmolLM2-135M's shape, stored as the GGUF import stores Q4_1."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten
    from mlx_lm.models.llama import Model, ModelArgs

    from mlxk_core.cache.store import store_snapshot
    from tests.factory import build_model, snapshot_dir

    model = Model(ModelArgs.from_dict(SMOLLM2_SHAPE))
    nn.quantize(model, group_size=32, bits=4)
    weights = {
        k: v.astype(mx.float16) if k.endswith((".scales", ".biases")) else v
        for k, v in tree_flatten(model.parameters())
    }
    tok = snapshot_dir(cache, build_model("chat", cache))
    config = {**SMOLLM2_SHAPE, "quantization": {"group_size": 32, "bits": 4}}
    out = cache / "random.safetensors"
    mx.save_safetensors(str(out), weights, metadata={"format": "mlx"})
    store_snapshot(cache, GGUF_REPO, {
        "config.json": json.dumps(config).encode(), "model.safetensors": out,
        "tokenizer.json": tok / "tokenizer.json",
        "tokenizer_config.json": tok / "tokenizer_config.json",
    })


def build(cache: Path) -> dict[str, Any]:
    """Store the GGUF-import layout (the real demo model if present) and its fp16 twin."""
    import mlx.core as mx

    from mlxk_core.cache.store import store_snapshot

    if DEMO_GGUF.is_file():
        from mlxk_core.gguf.importer import import_gguf
        from mlxk_core.settings import Settings

        import_gguf(DEMO_GGUF, settings=Settings(cache_dir=cache), repo_id=GGUF_REPO)
        source = "SmolLM2-135M-Instruct (Q4_1 GGUF, imported)"
    else:
        _random_gguf_layout(cache)
        source = "random weights of SmolLM2-135M's shape (no demo GGUF in .demo/)"
    snap = _snapshot(cache, GGUF_REPO)
    weights = mx.load(str(snap / "model.safetensors"))
    half = {
        k: v.astype(mx.float16) if mx.issubdtype(v.dtype, mx.floating) else v
        for k, v in weights.items()
    }
    out = cache / "half.safetensors"
    mx.save_safetensors(str(out), half, metadata={"format": "mlx"})
    files: dict[str, Path | bytes] = {p.name: p for p in snap.iterdir()}
    files["model.safetensors"] = out
    store_snapshot(cache, HALF_REPO, files)
    return {"source": source, "repos": [GGUF_REPO, HALF_REPO]}


def _prompts(tokenizer: Any, length: int, count: int) -> list[list[int]]:
    ids = tokenizer.encode(TEXT * (1 + length // 8))
    return [ids[i : i + length] for i in range(count)]


def _batched(model: Any, tokenizer: Any, batch: int, tokens: int) -> dict[str, float]:
    """Aggregate decode tok/s once every sequence has its first token, and that wait."""
    from mlx_lm.generate import BatchGenerator

    gen = BatchGenerator(model, max_tokens=tokens)
    start = time.perf_counter()
    uids = gen.insert(_prompts(tokenizer, 16, batch), max_tokens=[tokens] * batch)
    started: set[int] = set()
    live = set(uids)
    all_started = 0.0
    decoded = 0
    while live:
        for r in gen.next_generated():
            if r.uid in started:
                decoded += 1
            started.add(r.uid)
            if r.finish_reason is not None:
                live.discard(r.uid)
        if not all_started and len(started) == batch:
            all_started = time.perf_counter()
    gen.close()
    return {"batch_tps": decoded / (time.perf_counter() - all_started),
            "batch_first_s": all_started - start}


def _single(model: Any, tokenizer: Any, prompt: list[int], tokens: int) -> dict[str, float]:
    from mlx_lm import stream_generate

    steps = list(stream_generate(model, tokenizer, prompt, max_tokens=tokens))
    last = steps[-1]
    return {"prefill_tps": last.prompt_tps, "decode_tps": last.generation_tps,
            "generated": last.generation_tokens}


def _ours(cache: Path, repo: str, prompt_len: int, tokens: int) -> dict[str, Any]:
    from mlxk_core.generation.request import GenerationRequest
    from mlxk_core.generation.runner import Runner
    from mlxk_core.settings import Settings

    runner = Runner(repo, settings=Settings(cache_dir=cache))
    with runner:
        backend: Any = runner.backend
        tokenizer = backend.tokenizer
        text = tokenizer.decode(_prompts(tokenizer, prompt_len, 1)[0])
        runner.generate(GenerationRequest.completion(text[:40], max_tokens=2))  # warm-up
        done = runner.generate(GenerationRequest.completion(text, max_tokens=tokens))
        result: dict[str, Any] = {
            "prefill_tps": done.timings.prompt_tps, "decode_tps": done.timings.generation_tps,
            "generated": done.usage.completion_tokens,
            "layout": backend.layout.reason, "blas": backend.blas.kind,
        }
        return result | {"model": backend.model, "tokenizer": tokenizer}


def measure(cache: Path, repo: str, side: str, prompt_len: int, tokens: int, batch: int) -> Any:
    """Prefill and decode tok/s for one request, then ``batch`` concurrent sequences."""
    if side == "ours":
        result = _ours(cache, repo, prompt_len, tokens)
        model, tokenizer = result.pop("model"), result.pop("tokenizer")
    else:
        import mlx_lm

        model, tokenizer = mlx_lm.load(str(_snapshot(cache, repo)))
        _single(model, tokenizer, _prompts(tokenizer, 1, 1)[0], 1)  # warm-up
        result = _single(model, tokenizer, _prompts(tokenizer, prompt_len, 1)[0], tokens)
    if batch:
        result |= _batched(model, tokenizer, batch, BATCH_TOKENS)
    return result


def main(argv: list[str]) -> int:
    """Entry point of the worker subprocess."""
    cache = Path(argv[1])
    if argv[0] == "build":
        out = build(cache)
    else:
        repo, side, prompt_len, tokens, batch = argv[2], argv[3], *map(int, argv[4:7])
        out = measure(cache, repo, side, prompt_len, tokens, batch)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
