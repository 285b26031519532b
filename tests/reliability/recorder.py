"""Figures a reliability test reports (requests served, faults injected, inputs tried).

Each test gets a :class:`Figures` (the ``figures`` fixture); the session collects them with the
test's outcome into a :class:`Recorder`, which ``tests/reliability/report.py`` turns into
``docs/reliability.md``. A failed test counts as a failure whatever it recorded.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["KINDS", "Figures", "Recorder", "RunRecord", "sum_figures"]

KINDS = ("requests_served", "faults_injected", "inputs_tried", "failures")


@dataclass
class Figures:
    """What one test did: bump the counters as the test goes."""

    requests_served: int = 0
    faults_injected: int = 0
    inputs_tried: int = 0
    failures: int = 0

    def served(self, n: int = 1) -> None:
        """``n`` requests (CLI invocations, pulls, generations, HTTP requests) were answered."""
        self.requests_served += n

    def fault(self, n: int = 1) -> None:
        """``n`` faults were injected (a dropped connection, a corrupted file, a full disk)."""
        self.faults_injected += n

    def input(self, n: int = 1) -> None:
        """``n`` hostile or malformed inputs were tried (names, bodies, prompts)."""
        self.inputs_tried += n

    def failure(self, n: int = 1) -> None:
        """``n`` operations misbehaved (use when a test counts rather than asserts)."""
        self.failures += n


def sum_figures(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Figures summed over records (dicts); skips count nothing, a failure at least one."""
    sums = dict.fromkeys(KINDS, 0)
    for r in records:
        if r["outcome"] == "skipped":
            continue
        for kind in KINDS:
            sums[kind] += r["figures"].get(kind, 0)
        if r["outcome"] == "failed" and not r["figures"].get("failures"):
            sums["failures"] += 1
    return sums


@dataclass(frozen=True)
class RunRecord:
    """One finished test: where it belongs, what it did and how it ended."""

    nodeid: str
    area: str  # the module docstring's first paragraph: "Title: what it covers."
    summary: str  # the test docstring's first paragraph
    case: str | None  # the parameter id of a parametrized test
    outcome: str  # "passed", "failed" or "skipped"
    duration_s: float
    figures: dict[str, int]


@dataclass
class Recorder:
    """Every test's record for one pytest session; written as JSON for the report."""

    records: list[RunRecord] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def add(self, record: RunRecord) -> None:
        """Keep one finished test's record."""
        self.records.append(record)

    def totals(self) -> dict[str, int]:
        """Sums over the passed and failed tests (see ``sum_figures``)."""
        return sum_figures([asdict(r) for r in self.records])

    def write(self, path: Path) -> None:
        """Write the session as JSON (records, totals, platform) to ``path``."""
        from mlxk_core.version import __version__

        doc = {
            "mlxk": __version__,
            "python": sys.version.split()[0],
            "platform": f"{platform.system()} {platform.machine()}",
            "started": self.started,
            "finished": time.time(),
            "totals": self.totals(),
            "records": [asdict(r) for r in self.records],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
