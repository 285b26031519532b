"""Errors look as README says: `Error:` then `Hint:` on stderr; usage errors under --json are
JSON envelopes of type usage with exit 2 (the real `mlxk` program, in a subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.programs import mlxk

README = Path(__file__).resolve().parents[2] / "README.md"


def test_an_error_is_an_error_line_then_a_hint_line_as_readme_says(hf_cache: Path) -> None:
    result = mlxk(hf_cache, "show", "nobody/nothing")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: Model 'nobody/nothing' not found in the cache",
        "Hint: run `mlxk pull nobody/nothing` or `mlxk list`",
    ]
    readme = " ".join(README.read_text(encoding="utf-8").split())
    assert "1 error (on stderr an `Error: …` line, then a `Hint: …` line" in readme


@pytest.mark.parametrize(
    ("args", "command", "says"),
    [
        (("list", "--nope", "--json"), "list", "No such option: --nope"),
        (("show", "--json"), "show", "Missing argument"),
        (("run", "m", "hi", "--max-tokens", "0", "--json"), "run", "--max-tokens"),
        (("nope", "--json"), "mlxk", "No such command 'nope'"),
    ],
)
def test_usage_errors_under_json_are_envelopes_with_exit_2(
    hf_cache: Path, args: tuple[str, ...], command: str, says: str
) -> None:
    result = mlxk(hf_cache, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert (doc["schema_version"], doc["command"], doc["data"]) == ("1", command, None)
    assert doc["error"]["type"] == "usage"
    assert says in doc["error"]["message"] and "--help" in doc["error"]["hint"]


def test_usage_errors_without_json_stay_human(hf_cache: Path) -> None:
    result = mlxk(hf_cache, "list", "--nope")
    assert result.returncode == 2 and result.stdout == ""
    assert "No such option: --nope" in result.stderr
    assert "Usage: mlxk list" in result.stderr
