"""List the models in the Hugging Face cache with framework, type, size and health.

Run:    python examples/list_cache.py
The cache is found like `mlxk list` finds it (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache).
Shows:  CacheIndex.from_settings(Settings.from_env()) and the CachedModel / ModelFacts records.
"""

from __future__ import annotations

from mlxk_core import CachedModel, CacheIndex, ModelFacts, Settings


def human_size(size: float) -> str:
    """Bytes as text, e.g. ``1.2 GB``."""
    units = ["B", "KB", "MB", "GB", "TB"]
    while size >= 1000 and len(units) > 1:
        size, units = size / 1000, units[1:]
    return f"{size:.1f} {units[0]}"


def describe(model: CachedModel) -> str:
    """One line: name, framework, type, size, health (with the reasons when broken)."""
    facts = model.latest.facts if model.latest else ModelFacts()
    reasons = [*model.warnings, *(r for rev in model.revisions for r in rev.health.reasons)]
    health = "healthy" if model.healthy else "unhealthy: " + "; ".join(reasons or ["no snapshot"])
    size = human_size(model.size_on_disk)
    return f"{model.repo_id:<44} {facts.framework:<9} {facts.model_type:<9} {size:>9}  {health}"


def main() -> None:
    index = CacheIndex.from_settings(Settings.from_env())
    models = index.models()
    print(f"{len(models)} model(s) in {index.cache_dir}")
    print(f"{'NAME':<44} {'FRAMEWORK':<9} {'TYPE':<9} {'SIZE':>9}  HEALTH")
    for model in models:
        print(describe(model))


if __name__ == "__main__":
    main()
