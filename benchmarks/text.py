"""Fresh prompt text: every measurement gets text no earlier run has seen (so nothing is cached).

Sentences are drawn from templates with a seeded RNG, so a seed gives the same text on every
run and two seeds share no prefix. Lengths are counted with the model's own ``tokenizer.json``
(the ``tokenizers`` library, no mlx), so a 128-token prompt is 128 tokens of that model.
"""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

from tokenizers import Tokenizer

__all__ = ["fresh_text", "story_request"]

_NAMES = ("Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ines", "Jonas",
          "Kaito", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Samir", "Tove")
_PLACES = ("the harbour", "a mountain village", "the old library", "a river delta",
           "the northern coast", "a desert town", "the market square", "an island lighthouse",
           "a forest station", "the city archive", "a salt marsh", "the glass factory")
_THINGS = ("a map of forgotten roads", "a box of letters", "a broken compass",
           "a recipe for bread", "a song about rain", "a ledger of ships", "a clockwork bird",
           "a list of stars", "a faded photograph", "a key without a lock")
_TEMPLATES = (
    "In {year}, {name} travelled from {place} to {place2} carrying {thing}.",
    "{name} remembered {place} as a quiet place, until {name2} arrived with {thing}.",
    "Nobody at {place} could explain why {name} kept {thing} for {n} years.",
    "On the {n}th day of the journey, {name} and {name2} reached {place2}.",
    "The people of {place} still tell how {name} traded {thing} for a boat.",
    "{name2} wrote that {place2} was {n} miles from {place}, a walk of many days.",
)


@cache
def _tokenizer(path: Path) -> Tokenizer:
    return Tokenizer.from_file(str(path))


def _sentence(rng: random.Random) -> str:
    template = rng.choice(_TEMPLATES)
    return template.format(
        year=rng.randint(1200, 1999), name=rng.choice(_NAMES), name2=rng.choice(_NAMES),
        place=rng.choice(_PLACES), place2=rng.choice(_PLACES), thing=rng.choice(_THINGS),
        n=rng.randint(2, 90),
    )


def fresh_text(tokenizer_json: Path, tokens: int, seed: int) -> str:
    """About ``tokens`` tokens (never fewer) of prose unique to ``seed``."""
    tok = _tokenizer(tokenizer_json)
    rng = random.Random(seed)
    text = f"Chronicle {seed}."
    while len(tok.encode(text, add_special_tokens=False).ids) < tokens:
        text += " " + _sentence(rng)
    ids = tok.encode(text, add_special_tokens=False).ids
    cut = tok.decode(ids[:tokens])
    while len(tok.encode(cut, add_special_tokens=False).ids) < tokens:  # decoding can merge
        cut += " " + _sentence(rng).split()[0]
    return cut


def story_request(tokenizer_json: Path, seed: int, words: int = 24) -> str:
    """A short chat request that asks for a long story (so answers run to their budget)."""
    rng = random.Random(seed)
    opening = fresh_text(tokenizer_json, words, seed)
    return (f"Write a long story about {rng.choice(_NAMES)} at {rng.choice(_PLACES)} that "
            f"begins like this: {opening}")
