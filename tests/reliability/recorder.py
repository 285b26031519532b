"""Figures a reliability test reports, counted by the definitions the report states.

- **answers served**: requests answered in full and checked by the test: an HTTP 2xx whose
  whole body (a JSON document, or an SSE stream up to ``[DONE]``) the test read and judged, or
  a CLI command or library call that did its job and whose result the test checked.
- **refused as intended**: requests turned down by design, by kind: an HTTP 4xx (429 included)
  in the OpenAI error shape, a CLI command that exits 1 with one clear error line, a library
  call that raises the expected ``MlxkError``. The consequences of an injected fault (a pull
  that fails because its connection was cut) are not refusals: the fault is what is counted.
- **faults injected**: real faults only, one of :data:`FAULT_KINDS` (dropped connections,
  damaged files, a full disk, killed processes, models removed while in use, a backend that
  raises). A refused request is never a fault.
- **failures**: tests that failed, or misbehaviour a test counted instead of asserting.

Each test gets a :class:`Figures` (the ``figures`` fixture); the session collects them with the
test's outcome into a :class:`Recorder`, which ``tests/reliability/report.py`` turns into
``docs/reliability.md``. A failed test counts as a failure whatever it recorded.
"""

from __future__ import annotations

import contextlib
import json
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "FAULT_KINDS", "KINDS", "Figures", "Recorder", "RunRecord", "git_commit", "sum_figures",
]

KINDS = ("answers_served", "refused", "faults", "failures")
FAULT_KINDS = (
    "connection dropped",
    "download damaged (wrong size or checksum)",
    "disk full",
    "file damaged on disk",
    "model removed while in use",
    "backend raised an error",
    "process sent SIGTERM",
)
ROOT = Path(__file__).resolve().parents[2]


def http_kind(r: httpx.Response) -> str:
    """``HTTP 429 queue_full``: the status and the OpenAI error code (or the status phrase)."""
    code = None
    with contextlib.suppress(ValueError, KeyError, TypeError):  # not in the OpenAI shape
        code = r.json()["error"]["code"]
    return f"HTTP {r.status_code} {code or HTTPStatus(r.status_code).phrase}"


@dataclass
class Figures:
    """What one test did: bump the counters as the test goes."""

    answers_served: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    failures: int = 0

    def answer(self, n: int = 1) -> None:
        """``n`` requests were answered in full and the test checked the answers."""
        self.answers_served += n

    def refusal(self, kind: str, n: int = 1) -> None:
        """``n`` requests were refused as intended (``kind``: what refused them, and why)."""
        self.refused[kind] += n

    def http(self, r: httpx.Response, *, whole: bool = True) -> None:
        """Count a checked HTTP response: a 2xx is an answer (when its ``whole`` body was
        judged), anything else a refusal of its status and error code."""
        if r.status_code < 300:
            self.answers_served += int(whole)
        else:
            self.refusal(http_kind(r))

    def fault(self, kind: str, n: int = 1) -> None:
        """``n`` faults of ``kind`` (one of :data:`FAULT_KINDS`) were injected."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"not a fault kind: {kind!r} (one of {FAULT_KINDS})")
        self.faults[kind] += n

    def failure(self, n: int = 1) -> None:
        """``n`` operations misbehaved (use when a test counts rather than asserts)."""
        self.failures += n

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain JSON values."""
        return {
            "answers_served": self.answers_served,
            "refused": dict(self.refused),
            "faults": dict(self.faults),
            "failures": self.failures,
        }


def _count(value: int | Mapping[str, int]) -> int:
    return value if isinstance(value, int) else sum(value.values())


def sum_figures(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Figures summed over records (dicts): totals per kind, and the refusals and faults by
    kind. Skipped tests count nothing; a failed test at least one failure."""
    sums: dict[str, Any] = dict.fromkeys(KINDS, 0)
    refused: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    for r in records:
        if r["outcome"] == "skipped":
            continue
        figures = r["figures"]
        for kind in KINDS:
            sums[kind] += _count(figures.get(kind, 0))
        refused.update(figures.get("refused", {}))
        faults.update(figures.get("faults", {}))
        if r["outcome"] == "failed" and not figures.get("failures"):
            sums["failures"] += 1
    sums["refused_by_kind"] = dict(sorted(refused.items()))
    sums["faults_by_kind"] = dict(sorted(faults.items()))
    return sums


def git_commit(root: Path = ROOT) -> dict[str, Any]:
    """The checkout's commit (sha, subject, date) and whether it had uncommitted changes."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    sha = git("rev-parse", "HEAD")
    return {
        "sha": sha or None,
        "subject": git("log", "-1", "--format=%s") or None,
        "date": git("log", "-1", "--format=%cI") or None,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")) if sha else None,
    }


@dataclass(frozen=True)
class RunRecord:
    """One finished test: where it belongs, what it did and how it ended."""

    nodeid: str
    area: str  # the module docstring's first paragraph: "Title: what it covers."
    summary: str  # the test docstring's first paragraph
    case: str | None  # the parameter id of a parametrized test
    outcome: str  # "passed", "failed" or "skipped"
    duration_s: float
    figures: dict[str, Any]


@dataclass
class Recorder:
    """Every test's record for one pytest session; written as JSON for the report."""

    records: list[RunRecord] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def add(self, record: RunRecord) -> None:
        """Keep one finished test's record."""
        self.records.append(record)

    def totals(self) -> dict[str, Any]:
        """Sums over the passed and failed tests (see ``sum_figures``)."""
        return sum_figures([asdict(r) for r in self.records])

    def write(self, path: Path) -> None:
        """Write the session as JSON (records, totals, commit, platform) to ``path``."""
        from mlxk_core.version import __version__

        doc = {
            "mlxk": __version__,
            "python": sys.version.split()[0],
            "platform": f"{platform.system()} {platform.machine()}",
            "commit": git_commit(),
            "started": self.started,
            "finished": time.time(),
            "totals": self.totals(),
            "records": [asdict(r) for r in self.records],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
