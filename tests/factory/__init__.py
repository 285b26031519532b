"""Test model factory: tiny llama models trained to memorise fixed answers, in real hub layout.

The embedding models (``embed``, ``embed-bert``; tests/factory/embedding.py) are built beside
them. Usable outside pytest (examples, benchmarks)::

    from tests.factory import QA, build_model, snapshot_dir
    repo_id = build_model("chat", cache_dir)      # copies the prebuilt repo into cache_dir
    path = snapshot_dir(cache_dir, repo_id)       # for mlx_lm.load(path)
"""

from tests.factory.corpus import (
    QA,
    REASONING,
    RUN_ON,
    STORY,
    WEATHER,
    Exchange,
    RawText,
    ReasoningTrace,
    WeatherCase,
)
from tests.factory.embedding import EMBED_REPO_IDS, PARAPHRASES
from tests.factory.models import VARIANTS, Variant
from tests.factory.prebuilt import build_model, prebuilt_hub, snapshot_dir
from tests.factory.tokenizer import HARMONY_TOKENS, fallback_prompt

REPO_IDS = {name: spec.repo_id for name, spec in VARIANTS.items()}

__all__ = [
    "EMBED_REPO_IDS",
    "HARMONY_TOKENS",
    "PARAPHRASES",
    "QA",
    "REASONING",
    "REPO_IDS",
    "RUN_ON",
    "STORY",
    "VARIANTS",
    "WEATHER",
    "Exchange",
    "RawText",
    "ReasoningTrace",
    "Variant",
    "WeatherCase",
    "build_model",
    "fallback_prompt",
    "prebuilt_hub",
    "snapshot_dir",
]
