"""One rank's part of a sharded model; every rank applies the same operations in the same order.

Loading is a group decision. Each rank finds rank 0's snapshot in its own cache, checks that it
can be sharded this many ways in a mode its architecture supports, and takes part in a roll
call; every rank reads the same verdict from it, so all refuse together (naming the rank and
the reason) or all load. The shard is loaded as ``mlx_lm.utils.sharded_load`` loads it (the
architecture's own ``shard()`` or ``pipeline()``), parameter by parameter so no rank ever holds
the whole model, and laid out the same way on every rank (rank 0's dtype, no memory-dependent
choice) so every rank computes the same logits and samples the same token. Then a second roll
call reports each rank's memory.
Batch operations go to an :class:`~mlxk_core.backends.mlx_batch.MlxBatch`, as on one machine.
"""

from __future__ import annotations

import dataclasses
import gc
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlxk_core.backends.blas import BlasInfo
from mlxk_core.backends.cpu_fastpath import (
    Layout,
    apply_layout,
    choose_layout,
    current_device,
    describe_model,
)
from mlxk_core.backends.mlx_batch import MlxBatch
from mlxk_core.backends.mlx_cache import CacheStore
from mlxk_core.backends.mlx_group import Channel
from mlxk_core.backends.model_files import remote_code_reason
from mlxk_core.distributed.checks import ModelCheck, choose_mode, model_problem
from mlxk_core.distributed.protocol import (
    Add,
    Close,
    Load,
    Op,
    Open,
    Ping,
    Remove,
    Step,
    Stop,
    Unload,
)
from mlxk_core.distributed.snapshot import find_snapshot
from mlxk_core.errors import GenerationError, ShardingRefused
from mlxk_core.settings import Settings

__all__ = ["Loaded", "Replica"]


@dataclass(frozen=True)
class Loaded:
    """What loading told rank 0: the mode, the files' config, the tokenizer, every rank's memory.

    ``ranks``: per rank ``{"rank", "host", "weights", "peak"}`` in bytes (memory in use once
    loaded, and the peak while loading).
    """

    mode: str
    config: dict[str, Any]
    tokenizer: Any
    layout: Layout
    ranks: tuple[dict[str, Any], ...]


class Replica:
    """This rank's shard and batch; used from one thread (rank 0's driver, or the follower)."""

    def __init__(self, channel: Channel, *, settings: Settings, host: str, blas: BlasInfo) -> None:
        self.channel = channel
        self._settings = settings
        self._host = host
        self._blas = blas
        self._store = CacheStore()
        self.model: Any = None
        self.batch: MlxBatch | None = None

    def apply(self, op: Op) -> Any:
        """Apply one operation; what it returns matters on rank 0 only."""
        import mlx.core as mx

        with mx.stream(self.channel.forward):  # the model's collectives on one stream, in order
            return self._apply(op)

    def _apply(self, op: Op) -> Any:
        if isinstance(op, Load):
            return self._load(op)
        if isinstance(op, (Ping, Stop)):
            return None
        if isinstance(op, Unload):
            self._unload()
            return None
        if isinstance(op, Open):
            self._close_batch()
            self.batch = MlxBatch(self._need_model(), self._store, max_batch=op.max_batch,
                                  prefill_chunk=op.prefill_chunk, one_prompt_per_eval=True)
            return None
        if isinstance(op, Close):
            self._close_batch()
            return None
        batch = self.batch
        if batch is None:
            raise GenerationError("No batch is open on this rank")
        if isinstance(op, Add):
            return batch.add(op.key, op.spec)
        if isinstance(op, Step):
            return batch.step()
        assert isinstance(op, Remove)
        batch.remove(op.key)
        return None

    # -- loading -------------------------------------------------------------------------

    def _load(self, op: Load) -> Loaded:
        import mlx.core as mx

        self._unload()
        check, path = find_snapshot(
            op.model, rank=self.channel.rank, host=self._host, settings=self._settings
        )
        mode: str | None = None
        if path is not None and check.problem is None:
            mode, problem = self._plan(path, op.mode)
            check = dataclasses.replace(check, problem=problem)
        doc = dataclasses.asdict(check)
        doc["problem"] = (doc["problem"] or "")[:2000] or None
        checks = [ModelCheck(**d) for d in self.channel.roll_call(doc)]
        problem = model_problem(op.model.name, checks)
        if problem is not None:
            raise ShardingRefused(f"Cannot shard '{op.model.name}': {problem}")
        assert path is not None and mode is not None
        mx.reset_peak_memory()
        model, tokenizer, config = self._read(path, mode)
        layout = self._layout(model, op)
        apply_layout(model, layout)
        self.model = model
        mine = {"rank": self.channel.rank, "host": self._host,
                "weights": int(mx.get_active_memory()), "peak": int(mx.get_peak_memory())}
        ranks = tuple(self.channel.roll_call(mine))
        return Loaded(mode, config, tokenizer, layout, ranks)

    def _layout(self, model: Any, op: Load) -> Layout:
        """Rank 0's dtype and dequantize choice, alike on every rank: nothing here depends on
        a host's memory or BLAS, so every rank computes the same logits."""
        device = current_device()
        layout = choose_layout(
            device=device, blas=self._blas, file_layout=describe_model(model)[0],
            dense_bytes=0, available_bytes=0, dtype_override=op.dtype,
            dequantize_override=op.dequantize,
        )
        weights = "dense weights" if layout.dequantize else "weights as stored"
        compute = layout.compute_dtype or "stored"
        return dataclasses.replace(layout, reason=f"{device}: {compute} compute, {weights}")

    def _plan(self, path: Path, requested: str) -> tuple[str | None, str | None]:
        """The sharding mode for the model at ``path``, or why there is none."""
        reason = remote_code_reason(path)
        if reason:
            return None, f"it will not run code shipped with the model: {reason}"
        from mlx_lm.utils import load_model

        try:
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
            lazy, _ = load_model(path, lazy=True, strict=False)
        except Exception as exc:  # an architecture this mlx-lm does not know, a broken file
            return None, f"mlx-lm cannot load it: {exc}"
        inner = getattr(lazy, "model", None)
        return choose_mode(
            str(config.get("model_type", "unknown")), tensor=hasattr(lazy, "shard"),
            pipeline=inner is not None and hasattr(inner, "pipeline"), requested=requested,
            ranks=self.channel.size, config=config,
        )

    def _read(self, path: Path, mode: str) -> tuple[Any, Any, dict[str, Any]]:
        """This rank's shard, the tokenizer and the config.

        What ``mlx_lm.utils.sharded_load`` does for a local folder (lazy load, ``shard`` or
        ``pipeline``, then evaluate), but evaluating one parameter at a time: it evaluates them
        all at once, and every rank then peaks at the whole model's size while loading.
        """
        import mlx.core as mx
        import mlx_lm.utils as lm
        from mlx.utils import tree_flatten

        model, config = lm.load_model(path, lazy=True, strict=False)
        if mode == "tensor":
            model.shard(self.channel.group)
        else:
            model.model.pipeline(self.channel.group)
        parameters: Any = tree_flatten(model.parameters())
        for _, value in parameters:
            mx.eval(value)
        load_tokenizer: Any = lm.load_tokenizer  # untyped in mlx-lm
        tokenizer = load_tokenizer(path, {"trust_remote_code": False},
                                   eos_token_ids=config.get("eos_token_id"))
        return model, tokenizer, config

    # -- releasing -----------------------------------------------------------------------

    def _need_model(self) -> Any:
        if self.model is None:
            raise GenerationError("No model is loaded on this rank")
        return self.model

    def _close_batch(self) -> None:
        if self.batch is not None:
            self.batch.close()
            self.batch = None

    def drop(self) -> None:
        """Release the batch and the model here, without a word to the other ranks (the thread
        that made them is ending; the group is gone or stopping)."""
        self._unload()

    def _unload(self) -> None:
        self._close_batch()
        if self.model is None:
            return
        import mlx.core as mx

        self.model = None
        self._store.clear()
        gc.collect()
        mx.clear_cache()
