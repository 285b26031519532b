"""Health of a model folder: can it be loaded as it is? Every reason it cannot is listed."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlxk_core.cache.integrity import weight_file_reasons
from mlxk_core.cache.listing import (
    UNREAD,
    Listing,
    is_lfs_pointer,
    is_weight,
    list_dir,
    read_config,
    read_json,
)
from mlxk_core.cache.records import Health

__all__ = ["TOKENIZER_FILES", "check_health", "health_from_listing"]

TOKENIZER_FILES = frozenset(
    {
        "tokenizer.json",
        "tokenizer.model",
        "vocab.json",
        "vocab.txt",
        "spiece.model",
        "sentencepiece.bpe.model",
        "tekken.json",
    }
)
_INDEX_SUFFIXES = (".safetensors.index.json", ".bin.index.json")
_SHARD = re.compile(r"^(?P<stem>.+)-\d+-of-\d+\.(?P<ext>safetensors|bin)$")
_GGUF_MAGIC = b"GGUF"


def check_health(path: Path) -> Health:
    """Health of any model folder (a cache snapshot or a local directory), weight headers read."""
    root = Path(path)
    if not root.is_dir():
        return Health(healthy=False, reasons=(f"{root} is not a folder",))
    listing = list_dir(root)
    health = health_from_listing(root, listing)
    extra = weight_file_reasons(root, listing)
    return Health(healthy=False, reasons=(*health.reasons, *extra)) if extra else health


def health_from_listing(
    root: Path, listing: Listing, config_json: Any = UNREAD, escaping: Iterable[str] = ()
) -> Health:
    """Health of ``root`` given its listing; ``escaping`` names links that leave the cache."""
    reasons: list[str] = []
    weights = sorted(n for n in listing if is_weight(n))
    gguf_only = bool(weights) and all(n.endswith(".gguf") for n in weights)
    if not gguf_only:
        reasons += _config_reasons(root, listing, config_json)
    if not weights:
        reasons.append("no weight files (*.safetensors, *.gguf, *.bin)")
    for name in weights:
        reasons += _weight_reasons(root, name, listing[name])
    for name in sorted(n for n in listing if n.endswith(_INDEX_SUFFIXES)):
        reasons += _index_reasons(root, name, listing)
    reasons += _unindexed_shard_reasons(weights, listing)
    if not gguf_only and not any(
        posixpath.basename(n) in TOKENIZER_FILES or n.endswith(".tiktoken")
        for n, size in listing.items()
        if size is not None
    ):
        reasons.append("no tokenizer file (tokenizer.json, tokenizer.model or vocab files)")
    reasons += [
        f"{n}: broken link (its blob is missing)"
        for n in sorted(listing)
        if listing[n] is None and not is_weight(n)
    ]
    reasons += [f"{n}: link points outside the cache" for n in sorted(escaping)]
    return Health(healthy=not reasons, reasons=tuple(reasons))


def _config_reasons(root: Path, listing: Listing, config_json: Any) -> list[str]:
    if "config.json" not in listing:
        return ["config.json is missing"]
    if listing["config.json"] is None:
        return ["config.json: broken link (its blob is missing)"]
    if not isinstance(read_config(root, listing, config_json), dict):
        return ["config.json does not parse as a JSON object"]
    return []


def _weight_reasons(root: Path, name: str, size: int | None) -> list[str]:
    if size is None:
        return [f"{name}: broken link (its blob is missing)"]
    if size == 0:
        return [f"{name} is empty"]
    if is_lfs_pointer(root / name, size):
        return [f"{name} is a Git LFS pointer, not the real file"]
    if name.endswith(".gguf") and not _has_gguf_magic(root / name):
        return [f"{name} is not a GGUF file"]
    return []


def _has_gguf_magic(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == _GGUF_MAGIC
    except OSError:
        return False


def _index_reasons(root: Path, name: str, listing: Listing) -> list[str]:
    index = read_json(root / name)
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        return [f"{name} does not parse (no weight_map)"]
    folder = posixpath.dirname(name)
    missing = sorted(
        {
            str(shard)
            for shard in weight_map.values()
            if listing.get(posixpath.join(folder, str(shard))) is None
        }
    )
    return [f"{name} maps tensors to a missing shard: {shard}" for shard in missing]


def _unindexed_shard_reasons(weights: list[str], listing: Listing) -> list[str]:
    """Shards (``model-00001-of-00002.safetensors``) whose index file is missing.

    Without the index nothing says which tensors the shards hold, nor whether one is absent:
    such a model loads with missing parameters, or not at all.
    """
    orphans: dict[str, list[str]] = {}
    for name in weights:
        match = _SHARD.match(posixpath.basename(name))
        if match is None:
            continue
        index = posixpath.join(
            posixpath.dirname(name), f"{match['stem']}.{match['ext']}.index.json"
        )
        if index not in listing:
            orphans.setdefault(index, []).append(name)
    return [
        f"{', '.join(shards)}: shard{'s' if len(shards) > 1 else ''} without an index "
        f"({index} is missing)"
        for index, shards in orphans.items()
    ]
