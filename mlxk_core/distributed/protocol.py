"""What rank 0 tells the other ranks: one operation at a time, as a small JSON document.

Every rank applies the same operations in the same order to its own part of the model (load,
open the batch, add a sequence, step, remove, close, unload), so the collectives inside the
model's forward pass line up. JSON, not pickle: a rank never runs code it was sent. A frame is
a fixed-size head (the length, and the document itself when it fits) and, for a long document
(a long prompt), the rest in a second message.
"""

from __future__ import annotations

import dataclasses
import json
import random
import struct
from dataclasses import dataclass
from typing import Any

from mlxk_core.backends.base import SequenceSpec
from mlxk_core.generation.request import GenerationParams

__all__ = [
    "FRAME",
    "Add",
    "Close",
    "Load",
    "ModelRef",
    "Op",
    "Open",
    "Ping",
    "Remove",
    "Step",
    "Stop",
    "Unload",
    "decode_op",
    "encode_op",
    "pack_head",
    "seeded",
    "unpack_head",
]

FRAME = 256
"""Bytes of a frame's head: a 4-byte length, then the document when it fits."""


@dataclass(frozen=True)
class ModelRef:
    """The snapshot rank 0 resolved: every rank must find this commit (or this folder)."""

    name: str
    path: str
    repo_id: str | None = None
    commit: str | None = None


@dataclass(frozen=True)
class Load:
    """Load a model's shard; ``mode`` tensor / pipeline / auto; the layout is rank 0's."""

    model: ModelRef
    mode: str = "auto"
    dtype: str | None = None
    dequantize: bool = False


@dataclass(frozen=True)
class Open:
    """Open the batch of the loaded model."""

    max_batch: int
    prefill_chunk: int


@dataclass(frozen=True)
class Add:
    """Queue a sequence (its seed already chosen, so every rank samples the same tokens)."""

    key: int
    spec: SequenceSpec


@dataclass(frozen=True)
class Step:
    """One batch step."""


@dataclass(frozen=True)
class Remove:
    """Stop one sequence."""

    key: int


@dataclass(frozen=True)
class Close:
    """Drop every sequence of the batch."""


@dataclass(frozen=True)
class Unload:
    """Release the model."""


@dataclass(frozen=True)
class Ping:
    """Nothing to do: rank 0 is idle but alive."""


@dataclass(frozen=True)
class Stop:
    """Leave the group: the follower exits."""


Op = Load | Open | Add | Step | Remove | Close | Unload | Ping | Stop
_KINDS: dict[str, type[Any]] = {
    "load": Load, "open": Open, "add": Add, "step": Step, "remove": Remove, "close": Close,
    "unload": Unload, "ping": Ping, "stop": Stop,
}
_NAMES = {cls: name for name, cls in _KINDS.items()}


def seeded(spec: SequenceSpec) -> SequenceSpec:
    """``spec`` with a concrete seed when it samples (each rank would pick its own otherwise)."""
    params = spec.params
    if params.temperature == 0 or params.seed is not None:
        return spec
    return dataclasses.replace(
        spec, params=dataclasses.replace(params, seed=random.getrandbits(63))
    )


def encode_op(op: Op) -> bytes:
    """The JSON document of an operation."""
    doc = {"op": _NAMES[type(op)], **dataclasses.asdict(op)}
    return json.dumps(doc, separators=(",", ":")).encode()


def decode_op(data: bytes) -> Op:
    """The operation a JSON document describes; ValueError for anything else."""
    try:
        doc = json.loads(data)
        cls = _KINDS[doc.pop("op")]
        if cls is Load:
            doc["model"] = ModelRef(**doc["model"])
        elif cls is Add:
            spec = doc["spec"]
            doc["spec"] = SequenceSpec(
                prompt=tuple(spec["prompt"]), params=GenerationParams(**spec["params"]),
                max_tokens=spec["max_tokens"], top_logprobs=spec["top_logprobs"],
            )
        op: Op = cls(**doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not an operation: {exc}") from None
    return op


def pack_head(data: bytes) -> bytes:
    """The head frame of ``data``: its length, and ``data`` itself when it fits."""
    inline = data if len(data) <= FRAME - 4 else b""
    return (struct.pack("<I", len(data)) + inline).ljust(FRAME, b"\0")


def unpack_head(head: bytes) -> tuple[int, bytes | None]:
    """The length a head announces, and the document when it came inline (else None)."""
    (length,) = struct.unpack("<I", head[:4])
    return length, (head[4 : 4 + length] if length <= FRAME - 4 else None)
