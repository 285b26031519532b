"""The reliability report: figures summed from the session's records, failures never hidden."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability import report
from tests.reliability.recorder import Recorder, RunRecord


def _record(outcome: str, case: str | None = None, **figures: int) -> RunRecord:
    return RunRecord(
        nodeid=f"tests/reliability/test_x.py::test_y[{case}]",
        area="Pull faults: dropped connections.",
        summary="A pull is cut off.",
        case=case,
        outcome=outcome,
        duration_s=0.1,
        figures={"requests_served": 0, "faults_injected": 0, "inputs_tried": 0, "failures": 0}
        | figures,
    )


def test_the_page_shows_the_session_totals_and_counts_failed_tests(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.add(_record("passed", "a", requests_served=3, faults_injected=2))
    recorder.add(_record("failed", "b", requests_served=1))
    recorder.add(_record("skipped", "c", requests_served=100))
    recorder.write(tmp_path / "r.json")
    assert report.main([str(tmp_path / "r.json"), str(tmp_path / "docs" / "r.md")]) == 0
    page = (tmp_path / "docs" / "r.md").read_text()
    assert "**2 tests: 4 requests served, 2 faults injected, 0 inputs tried, 1 failures.**" in page
    assert "(1 skipped on this machine.)" in page
    assert "| Pull faults | 2 | 4 | 2 | 0 | 1 |" in page
    assert "- A pull is cut off. (FAILED, passed, skipped; 3 cases: a; b; c)" in page
    assert json.loads((tmp_path / "r.json").read_text())["totals"]["failures"] == 1
