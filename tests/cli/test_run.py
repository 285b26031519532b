"""`mlxk run` in-process on the factory's trained tiny models."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import Result

from mlxk_core.generation.reasoning import format_reasoning
from tests.factory import QA, REASONING

Cli = Callable[..., Result]
Install = Callable[[str], str]
GREEDY = ("--temperature", "0")


def test_single_shot_streams_the_answer(cli: Cli, install_model: Install) -> None:
    install_model("chat")
    result = cli("run", "tiny-chat", QA.FRANCE.question, *GREEDY)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == QA.FRANCE.answer + "\n"


def test_no_stream_prints_the_same_text(cli: Cli, install_model: Install) -> None:
    install_model("chat")
    result = cli("run", "tiny-chat", QA.FRANCE.question, *GREEDY, "--no-stream")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == QA.FRANCE.answer + "\n"


def test_system_prompt_flag(cli: Cli, install_model: Install) -> None:
    install_model("chat")
    result = cli("run", "tiny-chat", "Hello!", "--system", "You are a pirate.", *GREEDY)
    assert result.stdout == QA.PIRATE.answer + "\n"


def test_prompt_from_piped_stdin_and_dash(cli: Cli, install_model: Install) -> None:
    install_model("chat")
    piped = cli("run", "tiny-chat", *GREEDY, input=QA.FRANCE.question + "\n")
    dash = cli("run", "tiny-chat", "-", *GREEDY, input=QA.FRANCE.question)
    assert piped.stdout == dash.stdout == QA.FRANCE.answer + "\n"


def test_interactive_turns_keep_history_and_clear_forgets_it(
    cli: Cli, install_model: Install
) -> None:
    install_model("chat")
    turns = "My name is Ada.\nWhat is my name?\n/clear\nWhat is my name?\nexit\nHello!\n"
    for mode in ((), ("--no-stream",)):
        result = cli("run", "tiny-chat", "-i", *GREEDY, *mode, input=turns)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.splitlines() == [
            QA.NAME_INTRO.answer, QA.NAME_RECALL.answer, QA.NAME_UNKNOWN.answer
        ]


def test_base_model_uses_the_fallback_format_and_never_prints_a_stop(
    cli: Cli, install_model: Install
) -> None:
    install_model("base")
    result = cli("run", "tiny-base", QA.FRANCE.question, *GREEDY)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == QA.FRANCE.answer
    assert "Human:" not in result.stdout


def test_reasoning_is_formatted_and_can_be_hidden(cli: Cli, install_model: Install) -> None:
    install_model("reasoning")
    question = REASONING.exchange.question
    shown = format_reasoning(REASONING.analysis, REASONING.answer) + "\n"
    for mode in ((), ("--no-stream",)):
        result = cli("run", "tiny-gpt-oss", question, *GREEDY, *mode)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == shown
        hidden = cli("run", "tiny-gpt-oss", question, *GREEDY, *mode, "--hide-reasoning")
        assert hidden.stdout == REASONING.answer + "\n"


def test_json_envelope(cli: Cli, install_model: Install) -> None:
    install_model("reasoning")
    result = cli("run", "tiny-gpt-oss", REASONING.exchange.question, *GREEDY, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    data = doc["data"]
    assert doc["command"] == "run" and doc["error"] is None
    assert data["text"] == REASONING.answer and data["reasoning"] == REASONING.analysis
    assert data["finish_reason"] == "stop"
    assert data["usage"]["completion_tokens"] > 0 and data["usage"]["prompt_tokens"] > 0
    assert data["timings"]["time_to_first_token"] > 0


def test_verbose_reports_speed_on_stderr(cli: Cli, install_model: Install) -> None:
    install_model("chat")
    result = cli("run", "tiny-chat", QA.FRANCE.question, *GREEDY, "--verbose")
    assert result.stdout == QA.FRANCE.answer + "\n"
    assert "tok/s" in result.stderr and "time to first token" in result.stderr
    assert "peak memory" in result.stderr


def test_max_tokens_cuts_the_answer(cli: Cli, install_model: Install) -> None:
    install_model("chat")
    result = cli("run", "tiny-chat", QA.FRANCE.question, *GREEDY, "--max-tokens", "2", "--json")
    data = json.loads(result.stdout)["data"]
    assert data["finish_reason"] == "length" and data["usage"]["completion_tokens"] == 2
    assert QA.FRANCE.answer.startswith(data["text"]) and data["text"] != QA.FRANCE.answer


def test_unknown_model_is_one_clear_line(cli: Cli) -> None:
    result = cli("run", "no-such-model", "hi")
    assert result.exit_code == 1
    assert "not found" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_prompt_over_the_context_is_one_clear_line(cli: Cli, install_model: Install) -> None:
    install_model("small-context")
    result = cli("run", "tiny-ctx", "Paris " * 300, *GREEDY)
    assert result.exit_code == 1
    assert "context" in result.stderr and "Traceback" not in result.stderr


def test_unhealthy_model_is_refused(cli: Cli, repos: object) -> None:
    repos.lfs_pointer("mlx-community/Broken-4bit")  # type: ignore[attr-defined]
    result = cli("run", "Broken-4bit", "hi")
    assert result.exit_code == 1
    assert "unhealthy" in result.stderr.lower()
