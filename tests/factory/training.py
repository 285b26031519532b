"""Train a tiny llama with mlx on the CPU until it reproduces its examples exactly (greedy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

__all__ = [
    "Example",
    "FactoryError",
    "llama_config",
    "mismatches",
    "quantize",
    "save_weights",
    "train",
]

PAD = 1
LEARNING_RATE = 3e-3
CHECK_EVERY = 10
EXTRA_STEPS = 30  # after the first exact reproduction, for margin (quantization must not flip it)


class FactoryError(RuntimeError):
    """The factory could not build a model that behaves as promised."""


@dataclass(frozen=True)
class Example:
    """Prompt token ids and the target ids the model must produce greedily (ending with EOS)."""

    prompt: tuple[int, ...]
    target: tuple[int, ...]


def llama_config(
    vocab_size: int, bos_id: int, eos_ids: Sequence[int], max_positions: int = 8192
) -> dict[str, Any]:
    """The config.json of the tiny llama (hidden 64, 2 layers, 4 heads, 2 kv heads)."""
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "vocab_size": vocab_size,
        "max_position_embeddings": max_positions,
        "tie_word_embeddings": True,
        "bos_token_id": bos_id,
        "eos_token_id": list(eos_ids),
        "torch_dtype": "float32",
    }


def _batch(examples: Sequence[Example]) -> tuple[Any, Any, Any]:
    import mlx.core as mx

    rows = [list(e.prompt + e.target) for e in examples]
    width = max(map(len, rows))
    tokens = [r + [PAD] * (width - len(r)) for r in rows]
    mask = [
        [0] * len(e.prompt) + [1] * len(e.target) + [0] * (width - len(r))
        for e, r in zip(examples, rows, strict=True)
    ]
    t, m = mx.array(tokens), mx.array(mask, dtype=mx.float32)
    return t[:, :-1], t[:, 1:], m[:, 1:]


def _loss(model: Any, inputs: Any, targets: Any, mask: Any) -> Any:
    import mlx.nn as nn

    ce = nn.losses.cross_entropy(model(inputs), targets) * mask
    return ce.sum() / mask.sum()


def mismatches(model: Any, examples: Sequence[Example]) -> list[int]:
    """Indices of examples whose greedy continuation differs from the target.

    Greedy decoding reproduces a target exactly iff the argmax is right at every target position
    given the correct prefix, so one teacher-forced forward pass decides it.
    """
    import mlx.core as mx

    inputs, targets, mask = _batch(examples)
    hits = (mx.argmax(model(inputs), axis=-1) == targets) | (mask == 0)
    ok = mx.all(hits, axis=-1).tolist()
    return [i for i, good in enumerate(ok) if not good]


def train(
    config: dict[str, Any], examples: Sequence[Example], seed: int, max_steps: int = 300
) -> Any:
    """Train a fresh model on ``examples``; raise FactoryError unless it reproduces all of them."""
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim
    from mlx_lm.models.llama import Model, ModelArgs

    mx.random.seed(seed)
    model = Model(ModelArgs.from_dict(config))
    optimizer = optim.Adam(learning_rate=LEARNING_RATE)
    loss_and_grad = nn.value_and_grad(model, _loss)
    state = [model.state, optimizer.state]

    @partial(mx.compile, inputs=state, outputs=state)
    def step(inputs: Any, targets: Any, mask: Any) -> Any:
        loss, grads = loss_and_grad(model, inputs, targets, mask)
        optimizer.update(model, grads)
        return loss

    batch = _batch(examples)
    stop_at = max_steps
    for n in range(1, max_steps + 1):
        loss = step(*batch)
        mx.eval(state, loss)
        if n % CHECK_EVERY == 0 and stop_at == max_steps and not mismatches(model, examples):
            stop_at = min(max_steps, n + EXTRA_STEPS)
        if n >= stop_at:
            break
    failed = mismatches(model, examples)
    if failed:
        raise FactoryError(
            f"tiny model did not memorise examples {failed} in {max_steps} steps "
            f"(loss {loss.item():.4f}); check tests/factory/training.py"
        )
    return model


def quantize(model: Any, bits: int, group_size: int, half: bool) -> dict[str, Any]:
    """Quantize ``model`` in place (mlx affine); with ``half`` norms and scales become float16."""
    import mlx.core as mx
    import mlx.nn as nn

    if half:
        model.set_dtype(mx.float16)
    nn.quantize(model, group_size=group_size, bits=bits)
    mx.eval(model.parameters())
    return {"group_size": group_size, "bits": bits, "mode": "affine"}


def save_weights(model: Any, path: Path) -> None:
    """Save the parameters as one MLX safetensors file."""
    import mlx.core as mx
    from mlx.utils import tree_flatten

    weights = dict(tree_flatten(model.parameters()))
    mx.save_safetensors(str(path), weights, metadata={"format": "mlx"})
