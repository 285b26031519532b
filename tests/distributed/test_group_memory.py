"""Sharding splits memory: on a model large enough to measure, each of two ranks peaks at well
under what one process needs (loading included), as `mlxk run -v` reports it per rank."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.distributed.conftest import env_for
from tests.factory.random_llama import build_random_llama
from tests.programs import console_script

pytestmark = pytest.mark.slow

# ~25M float32 parameters, almost all in the layers that tensor parallelism splits
SHAPE = {"hidden_size": 512, "intermediate_size": 1536, "num_hidden_layers": 8,
         "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 64}
RANK = re.compile(r"rank (\d) \(.*\): ([\d.]+) MB in use, peak ([\d.]+) MB while loading")
PEAK = re.compile(r"peak memory: ([\d.]+) MB")


def _verbose_run(folder: Path, cache: Path, *flags: str) -> str:
    done = subprocess.run(
        [console_script("mlxk"), "run", str(folder), "Hello", "--temperature", "0",
         "--max-tokens", "4", "-v", *flags],
        env=env_for(cache), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_each_of_two_ranks_peaks_under_two_thirds_of_one_process(tmp_path: Path) -> None:
    folder = build_random_llama(tmp_path / "model", SHAPE)
    cache = tmp_path / "hub"
    cache.mkdir()
    one = PEAK.search(_verbose_run(folder, cache))
    assert one is not None
    single = float(one.group(1))
    assert single > 90  # large enough that the split is not lost in fixed costs
    report = _verbose_run(folder, cache, "--ranks", "2")
    ranks = {int(m.group(1)): (float(m.group(2)), float(m.group(3)))
             for m in RANK.finditer(report)}
    assert sorted(ranks) == [0, 1], report
    for rank, (in_use, loading) in ranks.items():
        assert max(in_use, loading) <= 0.65 * single, (rank, in_use, loading, single)
    generating = PEAK.search(report)
    assert generating is not None and float(generating.group(1)) <= 0.65 * single
    (held0, _), (held1, _) = ranks[0], ranks[1]
    assert abs(held0 - held1) <= 0.1 * max(held0, held1)  # each holds its half
