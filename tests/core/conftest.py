"""Fixtures for core cache tests: an index over the isolated cache of each test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlxk_core.cache.index import CacheIndex


@pytest.fixture
def make_index(hf_cache: Path) -> Callable[[], CacheIndex]:
    """Build a fresh CacheIndex over this test's isolated cache (call after writing repos)."""
    return lambda: CacheIndex(hf_cache)
