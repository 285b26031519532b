"""The reliability report: figures summed from the session's records, failures never hidden."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.reliability import report
from tests.reliability.recorder import Figures, Recorder, RunRecord


def _record(outcome: str, case: str | None, figures: Figures) -> RunRecord:
    return RunRecord(
        nodeid=f"tests/reliability/test_x.py::test_y[{case}]",
        area="Pull faults: dropped connections.",
        summary="A pull is cut off.",
        case=case,
        outcome=outcome,
        duration_s=0.1,
        figures=figures.as_dict(),
    )


def _response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_the_page_counts_by_the_definitions_and_counts_failed_tests(tmp_path: Path) -> None:
    passed, failed, skipped = Figures(), Figures(), Figures()
    passed.answer(3)
    passed.http(_response(200, {"choices": []}))
    passed.http(_response(429, {"error": {"code": "queue_full"}}))
    passed.http(_response(429, {"error": {"code": "queue_full"}}))
    passed.http(_response(405, {"detail": "no OpenAI shape"}))
    passed.refusal("CLI: exit 1, hostile model name")
    passed.fault("connection dropped", 2)
    failed.answer()
    failed.fault("disk full")
    skipped.answer(100)
    recorder = Recorder()
    recorder.add(_record("passed", "a", passed))
    recorder.add(_record("failed", "b", failed))
    recorder.add(_record("skipped", "c", skipped))
    recorder.write(tmp_path / "r.json")
    assert report.main([str(tmp_path / "r.json"), str(tmp_path / "docs" / "r.md")]) == 0
    page = (tmp_path / "docs" / "r.md").read_text()
    assert ("**2 tests: 5 answers served, 4 refused as intended, 3 faults injected, 1 failures.**"
            in page)
    assert "(1 skipped on this machine.)" in page
    assert "| Pull faults | 2 | 5 | 4 | 3 | 1 |" in page
    assert "| HTTP 429 queue_full | 2 |" in page
    assert "| HTTP 405 Method Not Allowed | 1 |" in page
    assert "| CLI: exit 1, hostile model name | 1 |" in page
    assert "| connection dropped | 2 |" in page and "| disk full | 1 |" in page
    assert "- A pull is cut off. (FAILED, passed, skipped; 3 cases: a; b; c)" in page
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["totals"]["failures"] == 1
    assert doc["commit"]["sha"] and f"Commit: `{doc['commit']['sha'][:12]}`" in page


def test_only_real_faults_can_be_counted_as_faults() -> None:
    figures = Figures()
    with pytest.raises(ValueError, match="not a fault kind"):
        figures.fault("HTTP 429 queue_full")
    assert figures.as_dict()["faults"] == {}
