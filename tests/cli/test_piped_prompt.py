"""`echo "Q" | mlxk run M -` asks exactly what `mlxk run M "Q"` asks: the final newline goes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli.programs import GREEDY, mlxk
from tests.factory import QA

Install = Callable[[str], str]


def _ask(cache: Path, *args: str, input: str | None = None) -> dict[str, object]:
    result = mlxk(cache, "run", "tiny-chat", *args, *GREEDY, "--json", input=input)
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)["data"]
    return data


def test_piped_prompt_is_the_same_prompt(install_model: Install, hf_cache: Path) -> None:
    install_model("chat")
    argument = _ask(hf_cache, QA.FRANCE.question)
    # `-`, and piped stdin without a prompt; echo's newline, or a Windows one
    for args, ending in ((("-",), "\n"), ((), "\r\n")):
        piped = _ask(hf_cache, *args, input=QA.FRANCE.question + ending)
        assert piped["usage"] == argument["usage"]
        assert piped["text"] == argument["text"] == QA.FRANCE.answer


def test_inner_newlines_stay_and_only_one_final_newline_goes(
    install_model: Install, hf_cache: Path
) -> None:
    install_model("chat")
    two_lines = "Hello!\nWhat is the capital of France?"
    argument = _ask(hf_cache, two_lines)
    piped = _ask(hf_cache, "-", input=two_lines + "\n")
    assert piped["usage"] == argument["usage"]
    blank_line_kept = _ask(hf_cache, "-", input=two_lines + "\n\n")
    assert blank_line_kept["usage"] == _ask(hf_cache, two_lines + "\n")["usage"]
