"""The pure rules of an embedding request: valid inputs, truncation, forward passes, dimensions.

No mlx here: the engine asks the backend for token ids and vectors, and these functions decide
what is accepted, what is cut, which inputs share a forward pass and how vectors are shortened.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mlxk_core.cache.records import EmbeddingFacts
from mlxk_core.embeddings.types import EmbeddingInput
from mlxk_core.errors import InvalidRequest

__all__ = [
    "MAX_INPUTS",
    "PASS_TOKENS",
    "Checked",
    "check_dimensions",
    "check_inputs",
    "check_token_ids",
    "fit",
    "passes",
    "shorten",
]

MAX_INPUTS = 2048
"""Inputs one request may carry (OpenAI's limit too)."""

PASS_TOKENS = 8192
"""Padded tokens one forward pass may hold: bounds how long a pass holds up generation."""

Checked = str | tuple[int, ...]


def check_inputs(inputs: Sequence[EmbeddingInput]) -> list[Checked]:
    """The inputs as texts and token-id tuples; InvalidRequest for none, too many or empty ones."""
    if isinstance(inputs, str):
        inputs = [inputs]
    if not inputs:
        raise InvalidRequest("There is no input to embed", param="input",
                             hint="give at least one text")
    if len(inputs) > MAX_INPUTS:
        raise InvalidRequest(f"Too many inputs: {len(inputs)} (at most {MAX_INPUTS})",
                             param="input", hint="split them over several requests")
    checked: list[Checked] = []
    for i, item in enumerate(inputs):
        if isinstance(item, str):
            value: Checked = item
        elif all(isinstance(t, int) and not isinstance(t, bool) for t in item):
            value = tuple(item)
        else:
            raise InvalidRequest(f"Input {i} is neither a text nor a list of token ids",
                                 param="input")
        if not value:
            raise InvalidRequest(f"Input {i} is empty", param="input",
                                 hint="leave out empty texts")
        checked.append(value)
    return checked


def check_token_ids(ids: tuple[int, ...], index: int, vocab_size: int | None) -> None:
    """InvalidRequest when a token-id input names ids the model does not have."""
    bad = [t for t in ids if t < 0 or (vocab_size is not None and t >= vocab_size)]
    if bad:
        top = f" (0..{vocab_size - 1})" if vocab_size else ""
        raise InvalidRequest(f"Input {index} has token id {bad[0]} outside the vocabulary{top}",
                             param="input")


def fit(lengths: Sequence[int], limit: int | None, truncate: bool) -> list[bool]:
    """Which inputs are cut to ``limit`` tokens; InvalidRequest if one is too long and
    ``truncate`` is off."""
    if limit is None:
        return [False] * len(lengths)
    over = [i for i, n in enumerate(lengths) if n > limit]
    if over and not truncate:
        i = over[0]
        more = f" (and {len(over) - 1} more)" if len(over) > 1 else ""
        raise InvalidRequest(
            f"Input {i} has {lengths[i]} tokens{more}; the model reads at most {limit}",
            param="input", hint="shorten it, or allow truncation",
        )
    return [n > limit for n in lengths]


def passes(lengths: Sequence[int], max_rows: int, max_tokens: int = PASS_TOKENS) -> list[list[int]]:
    """Input indices grouped into forward passes: similar lengths together (less padding), at
    most ``max_rows`` rows and ``max_tokens`` padded tokens a pass (one row at least)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        rows = len(current) + 1
        if current and (rows > max_rows or rows * lengths[i] > max_tokens):
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def check_dimensions(
    dimensions: int | None, full: int, facts: EmbeddingFacts | None, name: str
) -> None:
    """InvalidRequest unless ``dimensions`` is None, the full size, or a shorter size of a
    Matryoshka model."""
    if dimensions is None or dimensions == full:
        return
    if not 0 < dimensions <= full:
        raise InvalidRequest(f"dimensions must be between 1 and {full}", param="dimensions")
    if facts is None or not facts.matryoshka:
        raise InvalidRequest(
            f"'{name}' was not trained to be shortened (no Matryoshka training declared)",
            param="dimensions", hint=f"leave out dimensions: its vectors have {full}",
        )


def shorten(vector: Sequence[float], dimensions: int | None) -> tuple[float, ...]:
    """The first ``dimensions`` values, rescaled to unit length (the whole vector for None)."""
    if dimensions is None or dimensions >= len(vector):
        return tuple(vector)
    head = vector[:dimensions]
    norm = math.sqrt(math.fsum(v * v for v in head))
    return tuple(v / norm for v in head) if norm > 0 else tuple(head)
