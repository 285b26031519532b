"""Reliability fixtures: ``figures`` (what a test did) and the session recorder behind it.

Every test under tests/reliability that takes ``figures`` is recorded with its outcome and
counted in the report. Set ``MLXK_RELIABILITY_JSON`` to a path and the session writes the
records there (``nox -s reliability`` does, then renders docs/reliability.md from them with
``python -m tests.reliability.report``).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.recorder import Figures, Recorder, RunRecord

ENV_JSON = "MLXK_RELIABILITY_JSON"
_FIGURES = pytest.StashKey[Figures]()
_FAILED = pytest.StashKey[bool]()
_SKIPPED = pytest.StashKey[bool]()
_DURATION = pytest.StashKey[float]()
_RECORDER = Recorder()


@pytest.fixture(scope="session")
def recorder() -> Recorder:
    """The session's records (tests normally use ``figures`` instead)."""
    return _RECORDER


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    """This test's counters: ``figures.answer()``, ``.refusal()``, ``.http()``, ``.fault()``,
    ``.failure()`` (definitions in ``tests/reliability/recorder.py``)."""
    found = Figures()
    request.node.stash[_FIGURES] = found
    return found


def _paragraph(text: str | None, default: str) -> str:
    """The first paragraph of a docstring, on one line."""
    first = (text or "").strip().split("\n\n")[0]
    return " ".join(first.split()) or default


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[Any]
) -> Generator[None, Any, None]:
    """Note each phase's outcome; after teardown, add the test's record to the recorder."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.failed:
        item.stash[_FAILED] = True
    if report.skipped:
        item.stash[_SKIPPED] = True
    if report.when == "call":
        item.stash[_DURATION] = report.duration
    if report.when != "teardown" or _FIGURES not in item.stash:
        return
    status = (
        "failed"
        if item.stash.get(_FAILED, False)
        else "skipped"
        if item.stash.get(_SKIPPED, False)
        else "passed"
    )
    module = getattr(item, "module", None)
    function = getattr(item, "function", None)
    figures = item.stash[_FIGURES]
    callspec = getattr(item, "callspec", None)
    _RECORDER.add(
        RunRecord(
            nodeid=item.nodeid,
            area=_paragraph(getattr(module, "__doc__", None), item.nodeid.split("::")[0]),
            summary=_paragraph(getattr(function, "__doc__", None), item.name),
            case=callspec.id if callspec is not None else None,
            outcome=status,
            duration_s=round(item.stash.get(_DURATION, 0.0), 3),
            figures=figures.as_dict(),
        )
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the records where ``MLXK_RELIABILITY_JSON`` says, when it is set."""
    target = os.environ.get(ENV_JSON)
    if target and _RECORDER.records:
        _RECORDER.write(Path(target))
