"""`mlxk run` on a chat model that runs on into made-up turns: no turn marker is ever printed.

The run-on factory model has a chat template and answers the France question with the answer,
then ``\\nHuman: …\\nAssistant: …\\nUser: …\\nYou: …``. In chat mode the answer ends before the
first of those markers, however the tokens split them, in every output mode.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mlxk_core.generation.stops import CHAT_STOPS
from tests.cli.programs import GREEDY, mlxk
from tests.factory import QA, RUN_ON

Install = Callable[[str], str]
QUESTION = RUN_ON.question


def test_the_model_really_runs_on_into_every_turn_marker() -> None:
    assert RUN_ON.answer.startswith(QA.FRANCE.answer)
    assert all(marker in RUN_ON.answer for marker in CHAT_STOPS)


@pytest.mark.parametrize("mode", [(), ("--no-stream",)], ids=["stream", "no-stream"])
def test_single_shot_prints_the_answer_and_no_made_up_turn(
    mode: tuple[str, ...], install_model: Install, hf_cache: Path
) -> None:
    repo = install_model("run-on")
    result = mlxk(hf_cache, "run", repo, QUESTION, *GREEDY, *mode)
    assert result.returncode == 0, result.stderr
    assert result.stdout == QA.FRANCE.answer + "\n"


def test_json_text_ends_before_the_made_up_turn(install_model: Install, hf_cache: Path) -> None:
    repo = install_model("run-on")
    result = mlxk(hf_cache, "run", repo, QUESTION, *GREEDY, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    assert data["text"] == QA.FRANCE.answer
    assert data["finish_reason"] == "stop"


def test_interactive_chat_with_piped_lines(install_model: Install, hf_cache: Path) -> None:
    repo = install_model("run-on")
    for mode in ((), ("--no-stream",)):
        result = mlxk(hf_cache, "run", repo, "-i", *GREEDY, *mode, input=f"{QUESTION}\nexit\n")
        assert result.returncode == 0, result.stderr
        assert result.stdout == QA.FRANCE.answer + "\n"
